import { invalidArgument } from './csiErrors';
import { AccessModeName, VolumeCapability } from './csiTypes';
import { AccessType } from './volumeFiles';

/** A disk attaches to one node at a time: the single-node modes only. */
const supportedModes: ReadonlySet<AccessModeName> = new Set([
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
]);

/** File systems the driver makes and mounts. */
export const supportedFsTypes: ReadonlySet<string> = new Set(['ext4']);
export const defaultFsType = 'ext4';

export type CheckedCapability =
  | { accessType: 'block'; mode: AccessModeName }
  | { accessType: 'mount'; mode: AccessModeName; fsType: string; mountFlags: string[] };

/** Why a capability is not supported, or undefined when it is. */
export function unsupportedReason(capability: VolumeCapability): string | undefined {
  const mode = capability.access_mode?.mode ?? 'UNKNOWN';
  if (!supportedModes.has(mode)) return `access mode ${mode} is not supported (single-node modes only)`;
  if (capability.mount) {
    const fsType = capability.mount.fs_type || defaultFsType;
    if (!supportedFsTypes.has(fsType)) return `fs_type ${fsType} is not supported (only ${[...supportedFsTypes].join(', ')})`;
    return undefined;
  }
  if (capability.block) return undefined;
  return 'volume capability has neither block nor mount access type';
}

/** Validates one capability; INVALID_ARGUMENT naming `field` when it is missing or unsupported. */
export function checkCapability(capability: VolumeCapability | null | undefined, field: string): CheckedCapability {
  if (!capability) throw invalidArgument(`${field} is required`);
  const reason = unsupportedReason(capability);
  if (reason) throw invalidArgument(`${field}: ${reason}`);
  const mode = capability.access_mode!.mode;
  if (capability.block) return { accessType: 'block', mode };
  return {
    accessType: 'mount',
    mode,
    fsType: capability.mount!.fs_type || defaultFsType,
    mountFlags: capability.mount!.mount_flags ?? [],
  };
}

/** The access type a set of capabilities asks for. */
export function accessTypeOf(capabilities: CheckedCapability[]): AccessType {
  const types = new Set(capabilities.map(c => c.accessType));
  return types.size === 1 ? [...types][0] : 'mixed';
}
