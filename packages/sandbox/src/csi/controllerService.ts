import {
  aborted,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  outOfRange,
  required,
} from './csiErrors';
import {
  CapacityRange,
  ControllerExpandVolumeRequest,
  CreateSnapshotRequest,
  CreateVolumeRequest,
  CsiSnapshot,
  CsiVolume,
  ListRequest,
  ListSnapshotsRequest,
  ValidateVolumeCapabilitiesRequest,
  VolumeCapability,
  VolumeContentSource,
} from './csiTypes';
import { KeyedLock } from './keyedLock';
import { accessTypeOf, checkCapability, unsupportedReason } from './volumeCapabilities';
import { VolumeAttachments } from './volumeAttachments';
import { SnapshotRecord, VolumeFiles, VolumeRecord } from './volumeFiles';

export type ControllerServiceOptions = {
  files: VolumeFiles;
  attachments: VolumeAttachments;
  lock: KeyedLock;
  log: (message: string) => void;
};

const GiB = 1024 ** 3;
/** Size of a volume created without a capacity range or source. */
export const defaultVolumeBytes = GiB;
/** Volume sizes are whole 4 KiB blocks (the loop device and ext4 need whole sectors/blocks). */
const blockBytes = 4096;

const roundUp = (bytes: number) => Math.ceil(bytes / blockBytes) * blockBytes;

export const controllerCapabilities = [
  'CREATE_DELETE_VOLUME',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_VOLUMES',
  'LIST_SNAPSHOTS',
  'CLONE_VOLUME',
  'EXPAND_VOLUME',
  'GET_CAPACITY',
  'SINGLE_NODE_MULTI_WRITER',
];

function toCsiVolume(record: VolumeRecord): CsiVolume {
  let contentSource: VolumeContentSource | null = null;
  if (record.source?.kind === 'snapshot') contentSource = { snapshot: { snapshot_id: record.source.id } };
  if (record.source?.kind === 'volume') contentSource = { volume: { volume_id: record.source.id } };
  return { volume_id: record.id, capacity_bytes: record.capacityBytes, volume_context: {}, content_source: contentSource };
}

function toCsiSnapshot(record: SnapshotRecord): CsiSnapshot {
  return {
    snapshot_id: record.id,
    source_volume_id: record.sourceVolumeId,
    size_bytes: record.sizeBytes,
    creation_time: { seconds: Math.floor(record.createdAtMs / 1000), nanos: (record.createdAtMs % 1000) * 1e6 },
    ready_to_use: true,
  };
}

/** A page of a sorted list: `starting_token` is the index to start at (ABORTED when it is not one). */
function page<T>(items: T[], request: ListRequest): { entries: T[]; next_token: string } {
  let start = 0;
  if (request.starting_token) {
    start = /^\d+$/.test(request.starting_token) ? Number(request.starting_token) : -1;
    if (start < 0 || start > items.length) throw aborted(`starting_token ${request.starting_token} is not valid`);
  }
  if (request.max_entries < 0) throw invalidArgument('max_entries must not be negative');
  const end = request.max_entries > 0 ? Math.min(items.length, start + request.max_entries) : items.length;
  return { entries: items.slice(start, end), next_token: end < items.length ? String(end) : '' };
}

/** The size a new volume gets, within the capacity range and at least the source's size. */
function volumeSize(range: CapacityRange | null, sourceBytes: number | undefined): number {
  const requested = range?.required_bytes ?? 0;
  const limit = range?.limit_bytes ?? 0;
  if (requested < 0 || limit < 0) throw invalidArgument('capacity_range must not be negative');
  if (limit && requested > limit) throw invalidArgument(`capacity_range.required_bytes ${requested} exceeds limit_bytes ${limit}`);
  const size = roundUp(Math.max(requested || sourceBytes || (limit ? Math.min(limit, defaultVolumeBytes) : defaultVolumeBytes), sourceBytes ?? 0));
  if (limit && size > limit) {
    throw outOfRange(`a volume of ${size} bytes (whole 4 KiB blocks, at least the source's size) exceeds limit_bytes ${limit}`);
  }
  return size;
}

function capabilityAccessType(capability: VolumeCapability | null): 'block' | 'mount' | undefined {
  if (capability?.block) return 'block';
  if (capability?.mount) return 'mount';
  return undefined;
}

/** The CSI Controller service: volumes and snapshots as sparse files (see VolumeFiles). */
export function controllerService(options: ControllerServiceOptions) {
  const { files, attachments, lock, log } = options;

  const createVolume = async (request: CreateVolumeRequest) => {
    const name = required(request.name, 'name');
    if (!request.volume_capabilities?.length) throw invalidArgument('volume_capabilities is required');
    const capabilities = request.volume_capabilities.map((c, i) => checkCapability(c, `volume_capabilities[${i}]`));
    const id = VolumeFiles.volumeIdFor(name);
    return lock.run(id, async () => {
      const content = request.volume_content_source;
      let source: VolumeRecord['source'];
      let sourceFile: string | undefined;
      let sourceBytes: number | undefined;
      if (content?.snapshot) {
        const snapshot = files.getSnapshot(content.snapshot.snapshot_id);
        if (!snapshot) throw notFound(`source snapshot ${content.snapshot.snapshot_id} does not exist`);
        source = { kind: 'snapshot', id: snapshot.id };
        sourceFile = files.snapshotFile(snapshot.id);
        sourceBytes = snapshot.sizeBytes;
      } else if (content?.volume) {
        const volume = files.getVolume(content.volume.volume_id);
        if (!volume) throw notFound(`source volume ${content.volume.volume_id} does not exist`);
        source = { kind: 'volume', id: volume.id };
        sourceFile = files.volumeFile(volume.id);
        sourceBytes = volume.capacityBytes;
      }
      const capacityBytes = volumeSize(request.capacity_range, sourceBytes);
      const existing = files.getVolume(id);
      if (existing) {
        const range = request.capacity_range;
        const fits =
          existing.capacityBytes >= (range?.required_bytes ?? 0) &&
          (!range?.limit_bytes || existing.capacityBytes <= range.limit_bytes);
        const sameSource = existing.source?.kind === source?.kind && existing.source?.id === source?.id;
        if (existing.name !== name || !fits || !sameSource) {
          throw alreadyExists(`volume ${name} already exists (${existing.id}) with another capacity or source`);
        }
        return { volume: toCsiVolume(existing) };
      }
      const record: VolumeRecord = {
        id,
        name,
        capacityBytes,
        accessType: accessTypeOf(capabilities),
        source,
        createdAt: new Date().toISOString(),
      };
      if (source?.kind === 'volume') {
        await lock.run(source.id, () => attachments.withQuiesced(source!.id, () => files.createVolume(record, sourceFile)));
      } else {
        await files.createVolume(record, sourceFile);
      }
      log(`Created volume ${id} (${name}, ${capacityBytes} bytes${source ? `, from ${source.kind} ${source.id}` : ''})`);
      return { volume: toCsiVolume(record) };
    });
  };

  const deleteVolume = async (request: { volume_id: string }) => {
    const id = required(request.volume_id, 'volume_id');
    if (!files.getVolume(id)) return {};
    return lock.run(id, async () => {
      const loop = attachments.attached(id);
      if (loop) throw failedPrecondition(`volume ${id} is still attached to the node as ${loop.device}: unstage it first`);
      await files.deleteVolume(id);
      log(`Deleted volume ${id}`);
      return {};
    });
  };

  const validateVolumeCapabilities = async (request: ValidateVolumeCapabilitiesRequest) => {
    const id = required(request.volume_id, 'volume_id');
    if (!request.volume_capabilities?.length) throw invalidArgument('volume_capabilities is required');
    if (!files.getVolume(id)) throw notFound(`volume ${id} does not exist`);
    const reasons = request.volume_capabilities.map(unsupportedReason).filter(Boolean);
    if (reasons.length > 0) return { message: reasons.join('; ') };
    return {
      confirmed: {
        volume_context: request.volume_context,
        volume_capabilities: request.volume_capabilities,
        parameters: request.parameters,
      },
    };
  };

  const listVolumes = async (request: ListRequest) => {
    const { entries, next_token } = page(files.listVolumes(), request);
    return { entries: entries.map(record => ({ volume: toCsiVolume(record) })), next_token };
  };

  const getCapacity = async () => ({ available_capacity: await files.availableBytes() });

  const createSnapshot = async (request: CreateSnapshotRequest) => {
    const name = required(request.name, 'name');
    const sourceId = required(request.source_volume_id, 'source_volume_id');
    const id = VolumeFiles.snapshotIdFor(name);
    const started = Date.now();
    return lock.run(id, async () => {
      const existing = files.getSnapshot(id);
      if (existing) {
        if (existing.sourceVolumeId !== sourceId || existing.name !== name) {
          throw alreadyExists(`snapshot ${name} already exists with source volume ${existing.sourceVolumeId}`);
        }
        return { snapshot: toCsiSnapshot(existing) };
      }
      const volume = files.getVolume(sourceId);
      if (!volume) throw notFound(`source volume ${sourceId} does not exist`);
      const record: SnapshotRecord = {
        id,
        name,
        sourceVolumeId: sourceId,
        sizeBytes: volume.capacityBytes,
        createdAtMs: Date.now(),
      };
      await lock.run(sourceId, () => attachments.withQuiesced(sourceId, () => files.createSnapshot(record)));
      log(`Created snapshot ${id} (${name}) of volume ${sourceId} in ${Date.now() - started} ms`);
      return { snapshot: toCsiSnapshot(record) };
    });
  };

  const deleteSnapshot = async (request: { snapshot_id: string }) => {
    const id = required(request.snapshot_id, 'snapshot_id');
    if (!files.getSnapshot(id)) return {};
    return lock.run(id, async () => {
      await files.deleteSnapshot(id);
      log(`Deleted snapshot ${id}`);
      return {};
    });
  };

  const listSnapshots = async (request: ListSnapshotsRequest) => {
    let snapshots = files.listSnapshots();
    if (request.snapshot_id) snapshots = snapshots.filter(s => s.id === request.snapshot_id);
    if (request.source_volume_id) snapshots = snapshots.filter(s => s.sourceVolumeId === request.source_volume_id);
    const { entries, next_token } = page(snapshots, request);
    return { entries: entries.map(record => ({ snapshot: toCsiSnapshot(record) })), next_token };
  };

  const controllerExpandVolume = async (request: ControllerExpandVolumeRequest) => {
    const id = required(request.volume_id, 'volume_id');
    if (!request.capacity_range) throw invalidArgument('capacity_range is required');
    return lock.run(id, async () => {
      const volume = files.getVolume(id);
      if (!volume) throw notFound(`volume ${id} does not exist`);
      const wanted = roundUp(request.capacity_range!.required_bytes);
      const limit = request.capacity_range!.limit_bytes;
      if (limit && wanted > limit) throw outOfRange(`required_bytes rounded to 4 KiB blocks (${wanted}) exceeds limit_bytes ${limit}`);
      const updated = wanted > volume.capacityBytes ? await files.growVolume(id, wanted) : volume;
      // The cloud's part: a grown disk shows its new size on the node it is attached to.
      await attachments.refreshCapacity(id);
      const accessType = capabilityAccessType(request.volume_capability) ?? updated.accessType;
      if (updated !== volume) log(`Expanded volume ${id} to ${updated.capacityBytes} bytes`);
      return { capacity_bytes: updated.capacityBytes, node_expansion_required: accessType !== 'block' };
    });
  };

  return {
    CreateVolume: createVolume,
    DeleteVolume: deleteVolume,
    ValidateVolumeCapabilities: validateVolumeCapabilities,
    ListVolumes: listVolumes,
    GetCapacity: getCapacity,
    ControllerGetCapabilities: async () => ({
      capabilities: controllerCapabilities.map(type => ({ rpc: { type } })),
    }),
    CreateSnapshot: createSnapshot,
    DeleteSnapshot: deleteSnapshot,
    ListSnapshots: listSnapshots,
    ControllerExpandVolume: controllerExpandVolume,
  };
}
