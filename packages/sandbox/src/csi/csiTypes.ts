// The CSI messages the driver reads and writes, as @grpc/proto-loader decodes them (see
// csiProto.ts: snake_case fields, enums as names, int64 as numbers, `defaults: true` so absent
// scalars are '' / 0 / false and absent messages are null). Only the fields used are listed.

export type AccessModeName =
  | 'UNKNOWN'
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export type VolumeCapability = {
  block?: Record<string, never> | null;
  mount?: { fs_type: string; mount_flags: string[]; volume_mount_group?: string } | null;
  /** The oneof member that is set. */
  access_type?: 'block' | 'mount';
  access_mode?: { mode: AccessModeName } | null;
};

export type CapacityRange = { required_bytes: number; limit_bytes: number };

export type VolumeContentSource = {
  snapshot?: { snapshot_id: string } | null;
  volume?: { volume_id: string } | null;
  type?: 'snapshot' | 'volume';
};

export type CsiVolume = {
  volume_id: string;
  capacity_bytes: number;
  volume_context?: Record<string, string>;
  content_source?: VolumeContentSource | null;
};

export type Timestamp = { seconds: number; nanos: number };

export type CsiSnapshot = {
  snapshot_id: string;
  source_volume_id: string;
  size_bytes: number;
  creation_time: Timestamp;
  ready_to_use: boolean;
};

export type CreateVolumeRequest = {
  name: string;
  capacity_range: CapacityRange | null;
  volume_capabilities: VolumeCapability[];
  parameters: Record<string, string>;
  volume_content_source: VolumeContentSource | null;
};

export type CreateSnapshotRequest = { name: string; source_volume_id: string; parameters: Record<string, string> };

export type ListRequest = { max_entries: number; starting_token: string };

export type ListSnapshotsRequest = ListRequest & { source_volume_id: string; snapshot_id: string };

export type ValidateVolumeCapabilitiesRequest = {
  volume_id: string;
  volume_capabilities: VolumeCapability[];
  volume_context: Record<string, string>;
  parameters: Record<string, string>;
};

export type ControllerExpandVolumeRequest = {
  volume_id: string;
  capacity_range: CapacityRange | null;
  volume_capability: VolumeCapability | null;
};

export type NodeStageVolumeRequest = {
  volume_id: string;
  staging_target_path: string;
  volume_capability: VolumeCapability | null;
};

export type NodeUnstageVolumeRequest = { volume_id: string; staging_target_path: string };

export type NodePublishVolumeRequest = {
  volume_id: string;
  staging_target_path: string;
  target_path: string;
  volume_capability: VolumeCapability | null;
  readonly: boolean;
};

export type NodeUnpublishVolumeRequest = { volume_id: string; target_path: string };

export type NodeGetVolumeStatsRequest = { volume_id: string; volume_path: string; staging_target_path: string };

export type NodeExpandVolumeRequest = {
  volume_id: string;
  volume_path: string;
  staging_target_path: string;
  capacity_range: CapacityRange | null;
  volume_capability: VolumeCapability | null;
};

export type VolumeUsage = { available: number; total: number; used: number; unit: 'BYTES' | 'INODES' };

/** A capability entry of ControllerGetCapabilities / NodeGetCapabilities. */
export type RpcCapability = { rpc: { type: string } };
