import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlPlane, startControlPlane } from '../controlPlane';
import { deleteFolderIfKilled } from '../managedProcess';
import { ensurePki } from '../pki';
import { claim, createNamespace, fromSnapshot, isGone, snapshotApi, takeSnapshot, waitBound } from '../testing/harness';
import { waitFor } from '../waitFor';
import { CsiServiceClient } from './csiClient';
import { CsiStack, startCsiStack } from './csiStack';
import { listLoopDevices } from './loopDevices';
import { readMountTable } from './mountTable';

// The storage stack against a real control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler; no kubelet): claims are provisioned by the upstream external-provisioner,
// snapshots taken by the upstream snapshot-controller + csi-snapshotter, all through our driver.
// No kubelet runs here, so where a volume must be mounted the test plays the kubelet's CSI calls
// (NodeStageVolume/NodeExpandVolume) against the driver's socket.

const MiB = 1024 * 1024;
const mountCapability = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

let dataDir: string;
let controlPlane: ControlPlane | undefined;
let stack: CsiStack | undefined;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let node: CsiServiceClient;
const logs: string[] = [];
const staged: Array<{ volumeId: string; path: string }> = [];

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the CSI stack test needs root: it makes loop devices and mounts');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-csi-stack-'));
  deleteFolderIfKilled(dataDir);
  const kubeconfigPath = path.join(dataDir, 'kubeconfig');
  const log = (message: string) => logs.push(message);
  controlPlane = await startControlPlane({ dataDir, pki: ensurePki(path.join(dataDir, 'pki')), kubeconfigPath, log });
  stack = await startCsiStack({ dataDir, kubeconfigPath, nodeName: 'ferry-csi-node', log });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  core = kubeConfig.makeApiClient(CoreV1Api);
  custom = kubeConfig.makeApiClient(CustomObjectsApi);
  node = new CsiServiceClient('node', stack.socketPath);
}, 180_000);

afterAll(async () => {
  for (const { volumeId, path: stagingPath } of staged.splice(0)) {
    await node?.call('NodeUnstageVolume', { volume_id: volumeId, staging_target_path: stagingPath }).catch(() => undefined);
  }
  node?.close();
  await stack?.stop();
  await controlPlane?.stop();
  if (dataDir) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    deleteFolderIfKilled(dataDir, false);
  }
}, 60_000);

async function boundVolumeHandle(namespace: string, name: string) {
  const pvc = await waitBound(core, namespace, name, 60_000);
  const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
  return { pvc, pv, handle: pv.spec!.csi!.volumeHandle };
}

/** What the kubelet does before a pod starts: NodeStageVolume at a staging folder (ext4 is made once). */
async function stage(volumeId: string, name: string): Promise<string> {
  const stagingPath = path.join(dataDir, 'staging', name);
  fs.mkdirSync(stagingPath, { recursive: true });
  await node.call('NodeStageVolume', { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: mountCapability });
  staged.push({ volumeId, path: stagingPath });
  return stagingPath;
}

async function unstage(volumeId: string, stagingPath: string) {
  await node.call('NodeUnstageVolume', { volume_id: volumeId, staging_target_path: stagingPath });
  staged.splice(staged.findIndex(s => s.path === stagingPath), 1);
}

async function events(namespace: string, object: string) {
  const list = await core.listNamespacedEvent({ namespace });
  return list.items.filter(e => e.involvedObject.name === object);
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Whether this process may grow a mounted ext4 (CAP_SYS_RESOURCE, bit 24 of CapEff). */
function hasCapSysResource(): boolean {
  const capEff = /^CapEff:\s+([0-9a-f]+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
  return (BigInt(`0x${capEff}`) >> 24n) % 2n === 1n;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function readRange(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, offset);
    return buffer;
  } finally {
    fs.closeSync(fd);
  }
}

describe('the CSI stack with the upstream sidecars', () => {
  const namespace = 'csi-stack';
  const payload = randomBytes(3 * MiB + 123);

  beforeAll(() => createNamespace(core, namespace), 60_000);

  it('provisions a claim through external-provisioner: a PV of sandbox.ferry.io on a sparse file', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace, body: claim('data', { resources: { requests: { storage: '64Mi' } } }) });
    const { pv, handle } = await boundVolumeHandle(namespace, 'data');
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe('sandbox.ferry.io');
    expect(pv.spec?.csi).toMatchObject({ driver: 'sandbox.ferry.io', fsType: 'ext4' });
    expect(pv.spec?.capacity?.storage).toBe('64Mi');
    expect(handle).toMatch(/^vol-[0-9a-f]{32}$/);
    const stats = fs.statSync(stack!.volumeFile(handle));
    expect(stats.size).toBe(64 * MiB);
    expect(stats.blocks).toBe(0); // sparse: nothing written yet
  }, 90_000);

  it('restores a snapshot taken while the file system is mounted, with the same bytes, and clones a claim', async () => {
    const { handle } = await boundVolumeHandle(namespace, 'data');
    const mountPath = await stage(handle, 'data');
    fs.writeFileSync(path.join(mountPath, 'payload.bin'), payload);
    const snapshot = await takeSnapshot(custom, namespace, 'data-1', 'data');
    expect(snapshot.status?.restoreSize).toBe('64Mi');
    // Written after the snapshot: must not appear in what is restored from it.
    fs.writeFileSync(path.join(mountPath, 'later.txt'), 'after the snapshot');

    const content = (await custom.getClusterCustomObject({
      ...snapshotApi,
      plural: 'volumesnapshotcontents',
      name: snapshot.status!.boundVolumeSnapshotContentName!,
    })) as { spec: { sourceVolumeMode?: string }; status: { snapshotHandle: string } };
    expect(content.status.snapshotHandle).toMatch(/^snap-[0-9a-f]{32}$/);
    expect(content.spec.sourceVolumeMode).toBe('Filesystem');
    expect(fs.existsSync(stack!.snapshotFile(content.status.snapshotHandle))).toBe(true);

    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: claim('restored', { resources: { requests: { storage: '64Mi' } }, dataSource: fromSnapshot('data-1') }),
    });
    const restored = await boundVolumeHandle(namespace, 'restored');
    const restoredPath = await stage(restored.handle, 'restored');
    expect(sha256(fs.readFileSync(path.join(restoredPath, 'payload.bin')))).toBe(sha256(payload));
    expect(fs.existsSync(path.join(restoredPath, 'later.txt'))).toBe(false);
    await unstage(restored.handle, restoredPath);

    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: claim('clone', {
        resources: { requests: { storage: '96Mi' } },
        dataSource: { kind: 'PersistentVolumeClaim', name: 'data' },
      }),
    });
    const clone = await boundVolumeHandle(namespace, 'clone');
    expect(fs.statSync(stack!.volumeFile(clone.handle)).size).toBe(96 * MiB);
    await unstage(handle, mountPath);
    const clonePath = await stage(clone.handle, 'clone');
    expect(sha256(fs.readFileSync(path.join(clonePath, 'payload.bin')))).toBe(sha256(payload));
    expect(fs.readFileSync(path.join(clonePath, 'later.txt'), 'utf8')).toBe('after the snapshot');
    await unstage(clone.handle, clonePath);
  }, 120_000);

  it('refuses a Block claim from a Filesystem snapshot until the content allows the volume-mode change', async () => {
    const blockClaim: V1PersistentVolumeClaim = claim('as-block', {
      volumeMode: 'Block',
      resources: { requests: { storage: '64Mi' } },
      dataSource: fromSnapshot('data-1'),
    });
    await core.createNamespacedPersistentVolumeClaim({ namespace, body: blockClaim });
    const refusal = await waitFor(
      async () => (await events(namespace, 'as-block')).find(e => e.reason === 'ProvisioningFailed'),
      { description: 'a ProvisioningFailed event on claim as-block', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(refusal.message).toContain('snapshot.storage.kubernetes.io/allow-volume-mode-change');
    expect((await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'as-block' })).status?.phase).toBe('Pending');

    const snapshot = (await custom.getNamespacedCustomObject({ ...snapshotApi, namespace, plural: 'volumesnapshots', name: 'data-1' })) as {
      status: { boundVolumeSnapshotContentName: string };
    };
    await custom.patchClusterCustomObject({
      ...snapshotApi,
      plural: 'volumesnapshotcontents',
      name: snapshot.status.boundVolumeSnapshotContentName,
      body: { metadata: { annotations: { 'snapshot.storage.kubernetes.io/allow-volume-mode-change': 'true' } } },
    }, mergePatch);
    const { pv, handle } = await boundVolumeHandle(namespace, 'as-block');
    expect(pv.spec?.volumeMode).toBe('Block');
    // The block volume holds the snapshot's bytes: the ext4 superblock's magic (0xEF53 at 1080).
    expect(readRange(stack!.volumeFile(handle), 1080, 2).readUInt16LE(0)).toBe(0xef53);
  }, 120_000);

  it('expands claims: Block at once, Filesystem once the node grows the file system', async () => {
    await core.patchNamespacedPersistentVolumeClaim({
      namespace,
      name: 'as-block',
      body: { spec: { resources: { requests: { storage: '100Mi' } } } },
    }, mergePatch);
    const block = await waitFor(
      async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'as-block' });
        return pvc.status?.capacity?.storage === '100Mi' ? pvc : undefined;
      },
      { description: 'claim as-block to report 100Mi', timeoutMs: 60_000, intervalMs: 300 },
    );
    expect(block.status?.allocatedResourceStatuses?.storage).toBeUndefined();
    expect(fs.statSync(stack!.volumeFile((await boundVolumeHandle(namespace, 'as-block')).handle)).size).toBe(100 * MiB);

    const { handle } = await boundVolumeHandle(namespace, 'data');
    const mountPath = await stage(handle, 'data-expand');
    const before = await fs.promises.statfs(mountPath);
    await core.patchNamespacedPersistentVolumeClaim({
      namespace,
      name: 'data',
      body: { spec: { resources: { requests: { storage: '256Mi' } } } },
    }, mergePatch);
    const pending = await waitFor(
      async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
        return pvc.status?.allocatedResourceStatuses?.storage === 'NodeResizePending' ? pvc : undefined;
      },
      { description: 'claim data to wait for the node to resize', timeoutMs: 60_000, intervalMs: 300 },
    );
    expect(pending.status?.conditions?.map(c => c.type)).toEqual(['FileSystemResizePending']);
    expect((await core.readPersistentVolume({ name: pending.spec!.volumeName! })).spec?.capacity?.storage).toBe('256Mi');
    expect(fs.statSync(stack!.volumeFile(handle)).size).toBe(256 * MiB);
    // The kubelet's part: NodeExpandVolume on the mounted volume. Growing a mounted ext4 needs
    // CAP_SYS_RESOURCE; where root lacks it (this project's machines) the driver answers
    // FAILED_PRECONDITION (the kubelet then retries after the next staging) and grows the file
    // system at the next NodeStageVolume instead.
    const expand = () =>
      node.call<{ capacity_bytes: number }>('NodeExpandVolume', {
        volume_id: handle,
        volume_path: mountPath,
        staging_target_path: mountPath,
        capacity_range: { required_bytes: 256 * MiB },
      });
    const online = await expand().then(
      response => ({ grown: response.capacity_bytes }),
      (error: { code: number; details: string }) => ({
        code: error.code,
        namesCapability: error.details.includes('CAP_SYS_RESOURCE'),
      }),
    );
    const refused = { code: 9 /* FAILED_PRECONDITION */, namesCapability: true };
    expect(online).toEqual(hasCapSysResource() ? { grown: 256 * MiB } : refused);
    if (!('grown' in online)) {
      await unstage(handle, mountPath);
      await stage(handle, 'data-expand'); // grows the ext4 before mounting it
    }
    expect((await expand()).capacity_bytes).toBe(256 * MiB);
    const after = await fs.promises.statfs(mountPath);
    expect(after.blocks * after.bsize).toBeGreaterThan(3 * before.blocks * before.bsize);
    expect(sha256(fs.readFileSync(path.join(mountPath, 'payload.bin')))).toBe(sha256(payload));
    await unstage(handle, mountPath);
  }, 120_000);

  it('deletes volumes and snapshots with their objects', async () => {
    const { pv, handle } = await boundVolumeHandle(namespace, 'restored');
    const snapshot = (await custom.getNamespacedCustomObject({ ...snapshotApi, namespace, plural: 'volumesnapshots', name: 'data-1' })) as {
      status: { boundVolumeSnapshotContentName: string };
    };
    const contentName = snapshot.status.boundVolumeSnapshotContentName;
    const content = (await custom.getClusterCustomObject({ ...snapshotApi, plural: 'volumesnapshotcontents', name: contentName })) as {
      status: { snapshotHandle: string };
    };
    await core.deleteNamespacedPersistentVolumeClaim({ namespace, name: 'restored' });
    await custom.deleteNamespacedCustomObject({ ...snapshotApi, namespace, plural: 'volumesnapshots', name: 'data-1' });
    await waitFor(() => isGone(() => core.readPersistentVolume({ name: pv.metadata!.name! })), {
      description: `PV ${pv.metadata!.name} to be deleted`,
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    await waitFor(() => isGone(() => custom.getClusterCustomObject({ ...snapshotApi, plural: 'volumesnapshotcontents', name: contentName })), {
      description: `content ${contentName} to be deleted`,
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    expect(fs.existsSync(stack!.volumeFile(handle))).toBe(false);
    expect(fs.existsSync(stack!.snapshotFile(content.status.snapshotHandle))).toBe(false);
  }, 120_000);

  it('stop() leaves no sidecar, mount or loop device behind', async () => {
    const { handle } = await boundVolumeHandle(namespace, 'data');
    await stage(handle, 'left-staged'); // as if the node went away with a volume staged
    const pids = fs.readdirSync(path.join(dataDir, 'csi', 'run')).map(f => Number(fs.readFileSync(path.join(dataDir, 'csi', 'run', f), 'utf8')));
    expect(pids).toHaveLength(3);
    await stack!.stop();
    staged.splice(0);
    stack = undefined;
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(readMountTable().filter(m => m.mountPoint.startsWith(dataDir))).toEqual([]);
    expect(listLoopDevices().filter(l => l.backingFile?.startsWith(dataDir))).toEqual([]);
  }, 60_000);
});
