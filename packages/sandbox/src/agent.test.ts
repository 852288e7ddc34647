import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Log,
  PatchStrategy,
  setHeaderOptions,
  StorageV1Api,
  V1Job,
} from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Sandbox } from './sandbox';
import { waitFor } from './waitFor';
import {
  claim,
  createNamespace,
  execFileAsync,
  fromSnapshot,
  isGone,
  snapshotApi,
  takeSnapshot,
  useSharedSandbox,
  waitBound,
} from './testing/harness';

// The node agent against the real control plane: CSI driver sandbox.ferry.io and the kubelet.
// Sleep durations unique to this run, so `ps` checks do not see other people's processes.
const deadlineSleep = 10_000 + Math.floor(Math.random() * 80_000);
const deletedSleep = deadlineSleep + 1;
const context = useSharedSandbox();

let sandbox: Sandbox;
let core: CoreV1Api;
let batch: BatchV1Api;
let custom: CustomObjectsApi;
beforeAll(() => {
  ({ sandbox, core, batch, custom } = context);
});

describe('sandbox storage (CSI driver sandbox.ferry.io)', () => {
  const ns = 'storage';
  beforeAll(() => createNamespace(core, ns), 30_000);

  it('binds a PVC to a PV with spec.csi backed by a sparse file of the requested size', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('plain') });
    const pvc = await waitBound(core, ns, 'plain');
    const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
    expect(pv.spec?.csi?.driver).toBe('sandbox.ferry.io');
    expect(pv.spec?.claimRef?.name).toBe('plain');
    expect(pv.status?.phase).toBe('Bound');
    const file = await sandbox.volumePath(pv.metadata!.name!);
    const stat = fs.statSync(file);
    expect(stat.size).toBe(8 * 1024 * 1024);
    expect(stat.blocks * 512).toBeLessThan(stat.size); // sparse
  }, 60_000);

  it('restores bytes written into a volume from a VolumeSnapshot of it, and deletes what it created', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('source') });
    await waitBound(core, ns, 'source');
    const first = Buffer.from('ferry sandbox volume data at offset 0\n');
    const later = Buffer.alloc(4096, 0xab);
    await sandbox.writeVolume({ namespace: ns, claim: 'source', data: first });
    await sandbox.writeVolume({ namespace: ns, claim: 'source', offset: 5 * 1024 * 1024, data: later });

    const vs = await takeSnapshot(custom, ns, 'source-snap', 'source');
    expect(vs.status?.restoreSize).toBe(String(8 * 1024 * 1024));
    expect(Number.isNaN(Date.parse(vs.status!.creationTime!))).toBe(false);
    const contentName = vs.status!.boundVolumeSnapshotContentName!;
    const content = (await custom.getClusterCustomObject({ ...snapshotApi, plural: 'volumesnapshotcontents', name: contentName })) as {
      spec: { sourceVolumeMode: string; deletionPolicy: string };
      status: { readyToUse: boolean; restoreSize: number; snapshotHandle: string; creationTime: number };
    };
    expect(content.status.readyToUse).toBe(true);
    expect(content.status.restoreSize).toBe(8 * 1024 * 1024);
    expect(content.spec.sourceVolumeMode).toBe('Filesystem');
    expect(content.status.creationTime).toBeGreaterThan(0);
    const snapshotFile = path.join(sandbox.dataDir, 'snapshots', `${content.status.snapshotHandle}.img`);
    expect(fs.statSync(snapshotFile).blocks * 512).toBeLessThan(1024 * 1024); // only data extents copied

    // Changing the source after the snapshot must not change the snapshot.
    await sandbox.writeVolume({ namespace: ns, claim: 'source', data: Buffer.from('CHANGED') });

    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('restored', { resources: { requests: { storage: '16Mi' } }, dataSource: fromSnapshot('source-snap') }),
    });
    await waitBound(core, ns, 'restored');
    expect((await sandbox.readVolume({ namespace: ns, claim: 'restored', length: first.length })).equals(first)).toBe(true);
    const readLater = await sandbox.readVolume({ namespace: ns, claim: 'restored', offset: 5 * 1024 * 1024, length: 4096 });
    expect(readLater.equals(later)).toBe(true);
    expect(fs.statSync(await sandbox.claimVolumePath({ namespace: ns, claim: 'restored' })).size).toBe(16 * 1024 * 1024);

    // Deleting the snapshot (deletionPolicy Delete) removes its content and file.
    await custom.deleteNamespacedCustomObject({ ...snapshotApi, namespace: ns, plural: 'volumesnapshots', name: 'source-snap' });
    await waitFor(
      () => isGone(() => custom.getClusterCustomObject({ ...snapshotApi, plural: 'volumesnapshotcontents', name: contentName })),
      { description: `content ${contentName} to be deleted` },
    );
    expect(fs.existsSync(snapshotFile)).toBe(false);

    // Deleting a claim (reclaim Delete) removes its PV and file.
    const restoredFile = await sandbox.claimVolumePath({ namespace: ns, claim: 'restored' });
    const pvName = (await core.readNamespacedPersistentVolumeClaim({ name: 'restored', namespace: ns })).spec!.volumeName!;
    await core.deleteNamespacedPersistentVolumeClaim({ name: 'restored', namespace: ns });
    await waitFor(
      () => isGone(() => core.readPersistentVolume({ name: pvName })),
      { description: `PV ${pvName} to be deleted` },
    );
    expect(fs.existsSync(restoredFile)).toBe(false);
  }, 90_000);

  it('provisions a Block claim from a Filesystem snapshot only with allow-volume-mode-change', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('fs') });
    await waitBound(core, ns, 'fs');
    const data = Buffer.from('block view of a filesystem volume');
    await sandbox.writeVolume({ namespace: ns, claim: 'fs', offset: 4096, data });
    const vs = await takeSnapshot(custom, ns, 'fs-snap', 'fs');
    const contentName = vs.status!.boundVolumeSnapshotContentName!;

    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('as-block', { volumeMode: 'Block', dataSource: fromSnapshot('fs-snap') }),
    });
    const refusal = await waitFor(
      async () => {
        const events = await core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: 'involvedObject.name=as-block,reason=ProvisioningFailed',
        });
        return events.items[0];
      },
      { description: 'a ProvisioningFailed event for as-block' },
    );
    expect(refusal.message).toContain('snapshot.storage.kubernetes.io/allow-volume-mode-change');
    expect((await core.readNamespacedPersistentVolumeClaim({ name: 'as-block', namespace: ns })).status?.phase).toBe('Pending');

    await custom.patchClusterCustomObject({
      ...snapshotApi,
      plural: 'volumesnapshotcontents',
      name: contentName,
      body: [
        {
          op: 'add',
          path: '/metadata/annotations',
          value: { 'snapshot.storage.kubernetes.io/allow-volume-mode-change': 'true' },
        },
      ],
    });
    const bound = await waitBound(core, ns, 'as-block');
    const pv = await core.readPersistentVolume({ name: bound.spec!.volumeName! });
    expect(pv.spec?.volumeMode).toBe('Block');
    const read = await sandbox.readVolume({ namespace: ns, claim: 'as-block', offset: 4096, length: data.length });
    expect(read.equals(data)).toBe(true);
  }, 90_000);
  it('expands a bound claim whose request grows, keeping its bytes', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('growing') });
    const bound = await waitBound(core, ns, 'growing');
    const data = Buffer.from('kept across expansion');
    await sandbox.writeVolume({ namespace: ns, claim: 'growing', offset: 8 * 1024 * 1024 - data.length, data });
    await core.patchNamespacedPersistentVolumeClaim(
      { name: 'growing', namespace: ns, body: { spec: { resources: { requests: { storage: '12Mi' } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor(
      async () =>
        (await core.readNamespacedPersistentVolumeClaim({ name: 'growing', namespace: ns })).status?.capacity?.storage === '12Mi',
      { description: 'claim growing to report 12Mi' },
    );
    expect((await core.readPersistentVolume({ name: bound.spec!.volumeName! })).spec?.capacity?.storage).toBe('12Mi');
    expect(fs.statSync(await sandbox.claimVolumePath({ namespace: ns, claim: 'growing' })).size).toBe(12 * 1024 * 1024);
    const read = await sandbox.readVolume({ namespace: ns, claim: 'growing', offset: 8 * 1024 * 1024 - data.length, length: data.length });
    expect(read.equals(data)).toBe(true);
  }, 60_000);

  it('provisions a WaitForFirstConsumer claim once the scheduler picked the node for its pod', async () => {
    const storage = sandbox.kubeConfig.makeApiClient(StorageV1Api);
    await storage.createStorageClass({
      body: {
        metadata: { name: 'ferry-sandbox-wffc' },
        provisioner: 'sandbox.ferry.io',
        volumeBindingMode: 'WaitForFirstConsumer',
      },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('late', { storageClassName: 'ferry-sandbox-wffc' }),
    });
    await new Promise(resolve => setTimeout(resolve, 1000));
    expect((await core.readNamespacedPersistentVolumeClaim({ name: 'late', namespace: ns })).status?.phase).toBe('Pending');
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'consumer' },
        spec: {
          containers: [{ name: 'app', image: 'busybox:1.36', volumeMounts: [{ name: 'v', mountPath: '/data' }] }],
          volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'late' } }],
        },
      },
    });
    await waitBound(core, ns, 'late');
    const pod = await waitFor(
      async () => {
        const current = await core.readNamespacedPod({ name: 'consumer', namespace: ns });
        return current.status?.phase === 'Running' ? current : undefined;
      },
      { description: 'pod consumer to run' },
    );
    expect(pod.spec?.nodeName).toBe(sandbox.nodeName);
  }, 60_000);
});

describe('sandbox kubelet (process pods, real job controller)', () => {
  const ns = 'jobs';
  beforeAll(async () => {
    await createNamespace(core, ns);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'creds' }, stringData: { token: 'secret-token-value', 'config.json': '{"a":1}' } },
    });
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('disk', { volumeMode: 'Block' }) });
    await waitBound(core, ns, 'disk');
    await sandbox.writeVolume({ namespace: ns, claim: 'disk', data: Buffer.from('DEVICE-BYTES') });
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('out') });
    await waitBound(core, ns, 'out');
  }, 60_000);

  function job(name: string, script: string): V1Job {
    return {
      metadata: { name },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'mover',
                image: 'ferry.io/datamover:v9.9',
                command: ['sh', '-c', script],
                env: [
                  { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
                  { name: 'GREETING', value: 'hello $(TOKEN)' },
                ],
                volumeMounts: [
                  { name: 'creds', mountPath: '/etc/ferry', readOnly: true },
                  { name: 'out', mountPath: '/ferry/out', subPath: name },
                ],
                volumeDevices: [{ name: 'disk', devicePath: '/dev/ferry-src' }],
              },
            ],
            volumes: [
              { name: 'creds', secret: { secretName: 'creds' } },
              { name: 'disk', persistentVolumeClaim: { claimName: 'disk' } },
              { name: 'out', persistentVolumeClaim: { claimName: 'out' } },
            ],
          },
        },
      },
    };
  }

  async function jobPod(name: string) {
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${name}` });
    expect(pods.items).toHaveLength(1);
    return pods.items[0];
  }

  async function waitJobCondition(name: string, type: 'Complete' | 'Failed') {
    return waitFor(
      async () => {
        const current = await batch.readNamespacedJob({ name, namespace: ns });
        return current.status?.conditions?.find(c => c.type === type && c.status === 'True');
      },
      { description: `job ${name} to be ${type}`, timeoutMs: 60_000 },
    );
  }

  it('completes a Job whose pod runs a real command with env, secrets and a block device', async () => {
    const script = [
      'set -e',
      'echo "greeting=$GREETING"',
      'echo "file=$(cat /etc/ferry/config.json)"',
      'echo "device=$(head -c 12 /dev/ferry-src)"',
      'test -s /var/run/secrets/kubernetes.io/serviceaccount/token',
      'echo "$GREETING" > /ferry/out/result.txt',
      'printf "{\\"bytes\\":12}" > /dev/termination-log',
    ].join('\n');
    await batch.createNamespacedJob({ namespace: ns, body: job('ok', script) });
    await waitJobCondition('ok', 'Complete');
    const pod = await jobPod('ok');
    expect(pod.status?.phase).toBe('Succeeded');
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.exitCode).toBe(0);
    expect(terminated?.message).toBe('{"bytes":12}');
    const log = sandbox.readPodLog({ namespace: ns, pod: pod.metadata!.name! })!;
    expect(log).toContain('greeting=hello secret-token-value');
    expect(log).toContain('file={"a":1}');
    expect(log).toContain('device=DEVICE-BYTES');
    // Mount points were made in the sandbox's private view, not on the host.
    expect(fs.existsSync('/etc/ferry')).toBe(false);
    expect(fs.existsSync('/ferry')).toBe(false);
    // A Filesystem claim mounted into a process pod is a folder beside the volume's file.
    const outFile = await sandbox.claimVolumePath({ namespace: ns, claim: 'out' });
    expect(fs.readFileSync(outFile.replace(/\.img$/, '.files/ok/result.txt'), 'utf8')).toBe('hello secret-token-value\n');
    // The same log through the apiserver (kubectl logs path → the node agent's kubelet endpoint).
    const viaApi = await core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns, container: 'mover' });
    expect(viaApi).toContain('device=DEVICE-BYTES');
  }, 90_000);

  it('fails a Job whose command exits non-zero, with exit code and termination message', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: job('broken', 'echo "about to fail"; printf "no such backup" > /dev/termination-log; exit 3'),
    });
    await waitJobCondition('broken', 'Failed');
    const pod = await jobPod('broken');
    expect(pod.status?.phase).toBe('Failed');
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.exitCode).toBe(3);
    expect(terminated?.reason).toBe('Error');
    expect(terminated?.message).toBe('no such backup');
  }, 90_000);

  it('restarts a failed container under restartPolicy OnFailure, after its init containers ran', async () => {
    const retry = (script: string) => ({ name: 'm', image: 'ferry.io/datamover:dev', command: ['sh', '-c', script], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] });
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'retry' },
        spec: {
          backoffLimit: 3,
          template: {
            spec: {
              restartPolicy: 'OnFailure',
              volumes: [{ name: 'scratch', emptyDir: {} }],
              initContainers: [{ ...retry('echo prepared > /scratch/init'), name: 'init' }],
              containers: [
                retry('cat /scratch/init; if [ -f /scratch/once ]; then echo second run; exit 0; fi; touch /scratch/once; exit 1'),
              ],
            },
          },
        },
      },
    });
    await waitJobCondition('retry', 'Complete');
    const pod = await jobPod('retry');
    expect(pod.status?.phase).toBe('Succeeded');
    expect(pod.status?.initContainerStatuses?.[0].state?.terminated?.exitCode).toBe(0);
    const status = pod.status?.containerStatuses?.[0];
    expect(status?.restartCount).toBe(1);
    expect(status?.lastState?.terminated?.exitCode).toBe(1);
    expect(status?.state?.terminated?.exitCode).toBe(0);
    const log = sandbox.readPodLog({ namespace: ns, pod: pod.metadata!.name!, container: 'm' })!;
    expect(log).toBe('prepared\nprepared\nsecond run\n');
  }, 60_000);

  it('follows the log of a process pod through the apiserver until the container ends', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'chatty' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            { name: 'm', image: 'ferry.io/datamover:dev', command: ['sh', '-c', 'for i in 1 2 3; do echo "{\\"progress\\":$i}"; sleep 0.4; done'] },
          ],
        },
      },
    });
    await waitFor(
      async () => (await core.readNamespacedPod({ name: 'chatty', namespace: ns })).status?.phase === 'Running',
      { description: 'pod chatty to run' },
    );
    let text = '';
    await new Promise<void>((resolve, reject) => {
      const sink = new Writable({
        write(chunk, _encoding, done) {
          text += chunk.toString();
          done();
        },
      });
      sink.on('finish', () => resolve());
      new Log(sandbox.kubeConfig).log(ns, 'chatty', 'm', sink, { follow: true }).catch(reject);
    });
    expect(text).toBe('{"progress":1}\n{"progress":2}\n{"progress":3}\n');
  }, 30_000);

  it('fails a process pod that outlives its activeDeadlineSeconds', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'late' },
        spec: {
          restartPolicy: 'Never',
          activeDeadlineSeconds: 2,
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'm', image: 'ferry.io/datamover:dev', command: ['sh', '-c', `exec sleep ${deadlineSleep}`] }],
        },
      },
    });
    const pod = await waitFor(
      async () => {
        const current = await core.readNamespacedPod({ name: 'late', namespace: ns });
        return current.status?.phase === 'Failed' ? current : undefined;
      },
      { description: 'pod late to fail', timeoutMs: 20_000 },
    );
    expect(pod.status?.reason).toBe('DeadlineExceeded');
    expect(pod.status?.containerStatuses?.[0].state?.terminated?.exitCode).toBe(143); // SIGTERM
    const { stdout } = await execFileAsync('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(`sleep ${deadlineSleep}`);
  }, 30_000);

  it('kills the process of a deleted pod', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: job('sleeper', `echo started; exec sleep ${deletedSleep}`) });
    const pod = await waitFor(
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=sleeper' });
        return pods.items.find(p => p.status?.containerStatuses?.[0]?.state?.running);
      },
      { description: 'the sleeper pod to run' },
    );
    // The log of a running container, through the apiserver and the node agent's kubelet endpoint.
    await waitFor(
      async () => (await core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns })).includes('started'),
      { description: 'the sleeper log to say started' },
    );
    await batch.deleteNamespacedJob({ name: 'sleeper', namespace: ns, propagationPolicy: 'Foreground' });
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=sleeper' })).items.length === 0,
      { description: 'the sleeper pod to be gone', timeoutMs: 30_000 },
    );
    const { stdout } = await execFileAsync('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(`sleep ${deletedSleep}`);
    expect(pod.metadata?.name).toBeTruthy();
  }, 60_000);
});

