import fs from 'node:fs';
import path from 'node:path';
import { alreadyExists, failedPrecondition, notFound, required } from './csiErrors';
import {
  NodeExpandVolumeRequest,
  NodeGetVolumeStatsRequest,
  NodePublishVolumeRequest,
  NodeStageVolumeRequest,
  NodeUnpublishVolumeRequest,
  NodeUnstageVolumeRequest,
  VolumeUsage,
} from './csiTypes';
import { DriverState } from './driverState';
import { runCommand } from './hostCommand';
import { ext4SizeBytes, fsTypeOf, growExt4Offline, growExt4Online, makeExt4, OnlineGrowthRefused } from './ext4';
import { KeyedLock } from './keyedLock';
import { loopSizeBytes } from './loopDevices';
import { isMountPoint, mountsAt, readMountTable } from './mountTable';
import { checkCapability } from './volumeCapabilities';
import { VolumeAttachments } from './volumeAttachments';
import { VolumeFiles } from './volumeFiles';

export type NodeServiceOptions = {
  nodeName: string;
  files: VolumeFiles;
  attachments: VolumeAttachments;
  state: DriverState;
  lock: KeyedLock;
  log: (message: string) => void;
};

export const nodeCapabilities = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'SINGLE_NODE_MULTI_WRITER'];

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * The CSI Node service, like a cloud disk's: NodeStageVolume attaches the volume's file as a loop
 * device and, for a Filesystem volume, makes ext4 on it once (when unformatted) and mounts it at
 * the staging path; NodePublishVolume bind-mounts the staging path (or, for a Block volume, the
 * device node) at the target path.
 */
export function nodeService(options: NodeServiceOptions) {
  const { files, attachments, state, lock, log } = options;

  const existingVolume = (id: string) => {
    const volume = files.getVolume(id);
    if (!volume) throw notFound(`volume ${id} does not exist`);
    return volume;
  };

  const stage = async (request: NodeStageVolumeRequest) => {
    const id = required(request.volume_id, 'volume_id');
    const stagingPath = path.resolve(required(request.staging_target_path, 'staging_target_path'));
    const capability = checkCapability(request.volume_capability, 'volume_capability');
    existingVolume(id);
    return lock.run(id, async () => {
      const loop = await attachments.attach(id);
      if (capability.accessType === 'block') return {};
      const mounted = mountsAt(stagingPath);
      if (mounted.length > 0) {
        if (mounted[mounted.length - 1].source === loop.device) return {};
        throw alreadyExists(`staging path ${stagingPath} already has ${mounted[mounted.length - 1].source} mounted`);
      }
      const elsewhere = readMountTable().find(m => m.source === loop.device && m.mountPoint !== stagingPath);
      if (elsewhere && state.mountsOf(id).some(m => m.kind === 'stage' && m.path === elsewhere.mountPoint)) {
        throw failedPrecondition(`volume ${id} is already staged at ${elsewhere.mountPoint}`);
      }
      const found = await fsTypeOf(loop.device);
      if (!found) {
        log(`Making ext4 on ${loop.device} (volume ${id})`);
        await makeExt4(loop.device);
      } else if (found !== capability.fsType) {
        throw failedPrecondition(`volume ${id} holds a ${found} file system, not ${capability.fsType}`);
      } else if ((await ext4SizeBytes(loop.device)) < loopSizeBytes(loop.index)) {
        // The volume grew (expansion, or a restore into a larger claim): grow ext4 before mounting.
        log(`Growing the ext4 of volume ${id} to ${loopSizeBytes(loop.index)} bytes`);
        await growExt4Offline(loop.device);
      }
      fs.mkdirSync(stagingPath, { recursive: true });
      const mountOptions = capability.mountFlags.length ? ['-o', capability.mountFlags.join(',')] : [];
      await runCommand('mount', ['-t', capability.fsType, ...mountOptions, loop.device, stagingPath]);
      state.recordMount({ path: stagingPath, volumeId: id, kind: 'stage' });
      log(`Staged volume ${id} (${loop.device}) at ${stagingPath}`);
      return {};
    });
  };

  const unstage = async (request: NodeUnstageVolumeRequest) => {
    const id = required(request.volume_id, 'volume_id');
    const stagingPath = path.resolve(required(request.staging_target_path, 'staging_target_path'));
    return lock.run(id, async () => {
      const loop = files.getVolume(id) ? attachments.attached(id) : undefined;
      const mounted = mountsAt(stagingPath);
      if (mounted.length > 0 && (!loop || mounted[mounted.length - 1].source === loop.device)) {
        await runCommand('umount', [stagingPath]);
      }
      state.forgetMount(stagingPath);
      if (loop) await attachments.detach(id);
      log(`Unstaged volume ${id} from ${stagingPath}`);
      return {};
    });
  };

  const publish = async (request: NodePublishVolumeRequest) => {
    const id = required(request.volume_id, 'volume_id');
    const targetPath = path.resolve(required(request.target_path, 'target_path'));
    const capability = checkCapability(request.volume_capability, 'volume_capability');
    const stagingPath = path.resolve(required(request.staging_target_path, 'staging_target_path'));
    existingVolume(id);
    return lock.run(id, async () => {
      const loop = attachments.attached(id);
      if (!loop) throw failedPrecondition(`volume ${id} is not staged on this node`);
      if (isMountPoint(targetPath)) return {};
      const singleWriter = state
        .mountsOf(id)
        .find(m => m.kind === 'publish' && m.path !== targetPath && isMountPoint(m.path) && (m.accessMode === 'SINGLE_NODE_SINGLE_WRITER' || capability.mode === 'SINGLE_NODE_SINGLE_WRITER'));
      if (singleWriter) {
        throw failedPrecondition(`volume ${id} is published at ${singleWriter.path} with a single-writer access mode`);
      }
      const readOnly = request.readonly || capability.mode === 'SINGLE_NODE_READER_ONLY';
      const bindOptions = readOnly ? 'bind,ro' : 'bind';
      fs.mkdirSync(path.dirname(targetPath), { recursive: true });
      if (capability.accessType === 'block') {
        if (!fs.existsSync(targetPath)) fs.writeFileSync(targetPath, '');
        await runCommand('mount', ['-o', bindOptions, loop.device, targetPath]);
      } else {
        const staged = mountsAt(stagingPath);
        if (staged.length === 0 || staged[staged.length - 1].source !== loop.device) {
          throw failedPrecondition(`volume ${id} is not staged at ${stagingPath}`);
        }
        fs.mkdirSync(targetPath, { recursive: true });
        await runCommand('mount', ['-o', bindOptions, stagingPath, targetPath]);
      }
      state.recordMount({ path: targetPath, volumeId: id, kind: 'publish', accessMode: capability.mode });
      log(`Published volume ${id} at ${targetPath}${readOnly ? ' (read-only)' : ''}`);
      return {};
    });
  };

  const unpublish = async (request: NodeUnpublishVolumeRequest) => {
    const id = required(request.volume_id, 'volume_id');
    const targetPath = path.resolve(required(request.target_path, 'target_path'));
    return lock.run(id, async () => {
      if (isMountPoint(targetPath)) await runCommand('umount', [targetPath]);
      state.forgetMount(targetPath);
      const stats = statOrUndefined(targetPath);
      if (stats?.isDirectory()) fs.rmdirSync(targetPath);
      else if (stats) fs.rmSync(targetPath, { force: true });
      log(`Unpublished volume ${id} from ${targetPath}`);
      return {};
    });
  };

  const volumeStats = async (request: NodeGetVolumeStatsRequest) => {
    const id = required(request.volume_id, 'volume_id');
    const volumePath = required(request.volume_path, 'volume_path');
    existingVolume(id);
    const stats = statOrUndefined(volumePath);
    if (!stats) throw notFound(`volume path ${volumePath} does not exist`);
    const loop = attachments.attached(id);
    if (stats.isBlockDevice()) {
      if (!loop) throw notFound(`volume ${id} is not attached to this node`);
      const total = loopSizeBytes(loop.index);
      return { usage: [{ total, available: 0, used: 0, unit: 'BYTES' } satisfies VolumeUsage] };
    }
    if (!isMountPoint(volumePath)) throw notFound(`volume ${id} is not mounted at ${volumePath}`);
    const fsStats = await fs.promises.statfs(volumePath);
    const usage: VolumeUsage[] = [
      {
        total: fsStats.blocks * fsStats.bsize,
        available: fsStats.bavail * fsStats.bsize,
        used: (fsStats.blocks - fsStats.bfree) * fsStats.bsize,
        unit: 'BYTES',
      },
      { total: fsStats.files, available: fsStats.ffree, used: fsStats.files - fsStats.ffree, unit: 'INODES' },
    ];
    return { usage };
  };

  const expand = async (request: NodeExpandVolumeRequest) => {
    const id = required(request.volume_id, 'volume_id');
    const volumePath = required(request.volume_path, 'volume_path');
    existingVolume(id);
    if (!statOrUndefined(volumePath)) throw notFound(`volume path ${volumePath} does not exist`);
    return lock.run(id, async () => {
      const loop = attachments.attached(id);
      if (!loop) throw failedPrecondition(`volume ${id} is not staged on this node`);
      const capacity = (await attachments.refreshCapacity(id)) ?? loopSizeBytes(loop.index);
      const block = request.volume_capability?.block || fs.statSync(volumePath).isBlockDevice();
      if (!block && (await ext4SizeBytes(loop.device)) < capacity) {
        try {
          await growExt4Online(loop.device);
        } catch (error) {
          // The kubelet keeps the volume mounted and retries after the next NodeStageVolume.
          if (error instanceof OnlineGrowthRefused) throw failedPrecondition(`volume ${id}: ${error.message}`);
          throw error;
        }
        log(`Grew the file system of volume ${id} to ${capacity} bytes`);
      }
      return { capacity_bytes: capacity };
    });
  };

  return {
    NodeStageVolume: stage,
    NodeUnstageVolume: unstage,
    NodePublishVolume: publish,
    NodeUnpublishVolume: unpublish,
    NodeGetVolumeStats: volumeStats,
    NodeExpandVolume: expand,
    NodeGetCapabilities: async () => ({ capabilities: nodeCapabilities.map(type => ({ rpc: { type } })) }),
    NodeGetInfo: async () => ({ node_id: options.nodeName, max_volumes_per_node: 0 }),
  };
}
