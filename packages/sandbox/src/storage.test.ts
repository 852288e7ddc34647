import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, StorageV1Api } from '@kubernetes/client-node';
import fs from 'node:fs';
import { Sandbox } from './sandbox';
import {
  claim,
  createNamespace,
  fromSnapshot,
  isGone,
  snapshotApi,
  snapshotFile,
  takeSnapshot,
  useSharedSandbox,
  waitBound,
} from './testing/harness';
import { sleeperPod } from './testing/pods';
import { waitFor } from './waitFor';

// Storage of the real node through the Sandbox API: claims of StorageClass ferry-sandbox are
// volumes of the CSI driver sandbox.ferry.io (sparse files, loop devices when attached),
// provisioned, snapshotted, converted and grown by the upstream sidecars; volumePath,
// writeVolume and readVolume reach the driver's files (raw bytes: for Block claims, or claims no
// container has mounted).
const context = useSharedSandbox();
const ns = 'storage';
let sandbox: Sandbox;
let core: CoreV1Api;
let custom: CustomObjectsApi;
beforeAll(async () => {
  ({ sandbox, core, custom } = context);
  await createNamespace(core, ns);
}, 30_000);

const mib = 1024 * 1024;

describe('claims of the sandbox StorageClass', () => {
  it('binds a claim to a PV of sandbox.ferry.io backed by a sparse file of the requested size', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('plain') });
    const pvc = await waitBound(core, ns, 'plain');
    const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
    expect(pv.spec?.csi?.driver).toBe('sandbox.ferry.io');
    expect(pv.spec?.claimRef?.name).toBe('plain');
    const file = await sandbox.volumePath(pv.metadata!.name!);
    expect(file).toBe(await sandbox.claimVolumePath({ namespace: ns, claim: 'plain' }));
    const stat = fs.statSync(file);
    expect(stat.size).toBe(8 * mib);
    expect(stat.blocks * 512).toBeLessThan(stat.size); // sparse
    await expect(sandbox.claimVolumePath({ namespace: ns, claim: 'missing' })).rejects.toThrow('claim storage/missing not found');
  }, 60_000);

  it('restores bytes written into a Block volume from a VolumeSnapshot of it, and deletes what it created', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('source', { volumeMode: 'Block' }) });
    await waitBound(core, ns, 'source');
    const first = Buffer.from('ferry sandbox volume data at offset 0\n');
    const later = Buffer.alloc(4096, 0xab);
    await sandbox.writeVolume({ namespace: ns, claim: 'source', data: first });
    await sandbox.writeVolume({ namespace: ns, claim: 'source', offset: 5 * mib, data: later });
    await expect(sandbox.writeVolume({ namespace: ns, claim: 'source', offset: 8 * mib - 1, data: first })).rejects.toThrow(
      /exceeds the 8388608-byte volume of storage\/source/,
    );

    const snapshot = await takeSnapshot(custom, ns, 'source-snap', 'source');
    expect(snapshot.status?.restoreSize).toBe('8Mi');
    const contentName = snapshot.status!.boundVolumeSnapshotContentName!;
    const content = (await custom.getClusterCustomObject({ ...snapshotApi, plural: 'volumesnapshotcontents', name: contentName })) as {
      spec: { sourceVolumeMode: string };
    };
    expect(content.spec.sourceVolumeMode).toBe('Block');
    const image = await snapshotFile(sandbox, custom, snapshot);
    expect(fs.statSync(image).blocks * 512).toBeLessThan(mib); // only data extents copied

    // Changing the source after the snapshot does not change the snapshot.
    await sandbox.writeVolume({ namespace: ns, claim: 'source', data: Buffer.from('CHANGED') });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('restored', { volumeMode: 'Block', resources: { requests: { storage: '16Mi' } }, dataSource: fromSnapshot('source-snap') }),
    });
    await waitBound(core, ns, 'restored');
    expect((await sandbox.readVolume({ namespace: ns, claim: 'restored', length: first.length })).equals(first)).toBe(true);
    expect((await sandbox.readVolume({ namespace: ns, claim: 'restored', offset: 5 * mib, length: 4096 })).equals(later)).toBe(true);
    const restoredFile = await sandbox.claimVolumePath({ namespace: ns, claim: 'restored' });
    expect(fs.statSync(restoredFile).size).toBe(16 * mib);

    // Deleting the snapshot (deletionPolicy Delete) removes its content and file; deleting a
    // claim (reclaim Delete) its PV and file.
    await custom.deleteNamespacedCustomObject({ ...snapshotApi, namespace: ns, plural: 'volumesnapshots', name: 'source-snap' });
    await waitFor(() => isGone(() => custom.getClusterCustomObject({ ...snapshotApi, plural: 'volumesnapshotcontents', name: contentName })), {
      description: `content ${contentName} to be deleted`,
    });
    await waitFor(() => !fs.existsSync(image), { description: `${image} to be deleted` });
    const pvName = (await core.readNamespacedPersistentVolumeClaim({ name: 'restored', namespace: ns })).spec!.volumeName!;
    await core.deleteNamespacedPersistentVolumeClaim({ name: 'restored', namespace: ns });
    await waitFor(() => isGone(() => core.readPersistentVolume({ name: pvName })), { description: `PV ${pvName} to be deleted` });
    expect(fs.existsSync(restoredFile)).toBe(false);
  }, 120_000);

  it('provisions a Block claim from a Filesystem snapshot only with allow-volume-mode-change', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('fs') });
    await waitBound(core, ns, 'fs');
    const data = Buffer.from('block view of a filesystem volume');
    await sandbox.writeVolume({ namespace: ns, claim: 'fs', offset: 4096, data });
    const snapshot = await takeSnapshot(custom, ns, 'fs-snap', 'fs');
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('as-block', { volumeMode: 'Block', dataSource: fromSnapshot('fs-snap') }),
    });
    const refusal = await waitFor(
      async () =>
        (await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=as-block,reason=ProvisioningFailed' })).items[0],
      { description: 'a ProvisioningFailed event for as-block', timeoutMs: 60_000 },
    );
    expect(refusal.message).toContain('snapshot.storage.kubernetes.io/allow-volume-mode-change');
    expect((await core.readNamespacedPersistentVolumeClaim({ name: 'as-block', namespace: ns })).status?.phase).toBe('Pending');

    await custom.patchClusterCustomObject({
      ...snapshotApi,
      plural: 'volumesnapshotcontents',
      name: snapshot.status!.boundVolumeSnapshotContentName!,
      body: [{ op: 'add', path: '/metadata/annotations', value: { 'snapshot.storage.kubernetes.io/allow-volume-mode-change': 'true' } }],
    });
    const bound = await waitBound(core, ns, 'as-block', 60_000);
    expect((await core.readPersistentVolume({ name: bound.spec!.volumeName! })).spec?.volumeMode).toBe('Block');
    expect((await sandbox.readVolume({ namespace: ns, claim: 'as-block', offset: 4096, length: data.length })).equals(data)).toBe(true);
  }, 120_000);

  it('grows a Block claim whose request grows, keeping its bytes', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('growing', { volumeMode: 'Block' }) });
    const bound = await waitBound(core, ns, 'growing');
    const data = Buffer.from('kept across expansion');
    await sandbox.writeVolume({ namespace: ns, claim: 'growing', offset: 8 * mib - data.length, data });
    await core.patchNamespacedPersistentVolumeClaim(
      { name: 'growing', namespace: ns, body: { spec: { resources: { requests: { storage: '12Mi' } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor(async () => (await core.readNamespacedPersistentVolumeClaim({ name: 'growing', namespace: ns })).status?.capacity?.storage === '12Mi', {
      description: 'claim growing to report 12Mi',
      timeoutMs: 60_000,
    });
    expect((await core.readPersistentVolume({ name: bound.spec!.volumeName! })).spec?.capacity?.storage).toBe('12Mi');
    expect(fs.statSync(await sandbox.claimVolumePath({ namespace: ns, claim: 'growing' })).size).toBe(12 * mib);
    const read = await sandbox.readVolume({ namespace: ns, claim: 'growing', offset: 8 * mib - data.length, length: data.length });
    expect(read.equals(data)).toBe(true);
  }, 90_000);

  it('provisions a WaitForFirstConsumer claim once the scheduler picked the node for its pod', async () => {
    await sandbox.kubeConfig.makeApiClient(StorageV1Api).createStorageClass({
      body: { metadata: { name: 'ferry-sandbox-wffc' }, provisioner: 'sandbox.ferry.io', volumeBindingMode: 'WaitForFirstConsumer' },
    });
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('late', { storageClassName: 'ferry-sandbox-wffc' }) });
    await new Promise(resolve => setTimeout(resolve, 1000));
    expect((await core.readNamespacedPersistentVolumeClaim({ name: 'late', namespace: ns })).status?.phase).toBe('Pending');
    const consumer = sleeperPod(sandbox, 'consumer', 'echo ready > /data/ready && exec sleep 3600');
    consumer.spec!.containers[0].volumeMounts = [{ name: 'v', mountPath: '/data' }];
    consumer.spec!.volumes = [{ name: 'v', persistentVolumeClaim: { claimName: 'late' } }];
    await core.createNamespacedPod({ namespace: ns, body: consumer });
    const bound = await waitBound(core, ns, 'late', 60_000);
    const pv = await core.readPersistentVolume({ name: bound.spec!.volumeName! });
    // external-provisioner provisioned it for the node the scheduler chose.
    expect(bound.metadata?.annotations?.['volume.kubernetes.io/selected-node']).toBe(sandbox.nodeName);
    expect(pv.spec?.csi?.driver).toBe('sandbox.ferry.io');
    const pod = await waitFor(
      async () => {
        const current = await core.readNamespacedPod({ name: 'consumer', namespace: ns });
        return current.status?.phase === 'Running' ? current : undefined;
      },
      { description: 'pod consumer to run', timeoutMs: 90_000 },
    );
    expect(pod.spec?.nodeName).toBe(sandbox.nodeName);
  }, 150_000);
});
