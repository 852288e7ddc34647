import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  StorageV1Api,
  V1Pod,
} from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkDir } from '../images/blobStore';
import { assembleImage, defaultPath } from '../images/image';
import { layerFromDirectory } from '../images/layer';
import { pushImage } from '../images/push';
import { Sandbox, startSandbox } from '../sandbox';
import { claim, createNamespace, fromSnapshot, takeSnapshot, waitBound } from '../testing/harness';
import { waitFor } from '../waitFor';
import { findLoopFor, listLoopDevices } from './loopDevices';
import { readMountTable } from './mountTable';

// Pods of the real node (upstream kubelet, containerd, runc) on claims of the CSI stack: the
// kubelet registers the driver through our registration socket, stages and publishes volumes
// through our Node service, and the bytes a container wrote come back in another container
// from a claim restored from a VolumeSnapshot. Needs root and Debian's busybox-static.

const busybox = '/bin/busybox';
const applets = ['sh', 'head', 'sha256sum', 'cut', 'cat', 'sync', 'sleep', 'touch', 'df', 'tail', 'echo', 'printf'];

/** A one-layer image holding the static busybox of the host (Debian busybox-static). */
async function pushBusyboxImage(sandbox: Sandbox): Promise<string> {
  if (!fs.existsSync(busybox)) throw new Error(`${busybox} is missing: install the Debian package busybox-static`);
  const work = makeWorkDir('busybox-image');
  try {
    fs.mkdirSync(path.join(work, 'bin'), { recursive: true });
    fs.copyFileSync(busybox, path.join(work, 'bin', 'busybox'));
    fs.chmodSync(path.join(work, 'bin', 'busybox'), 0o755);
    for (const applet of applets) fs.symlinkSync('busybox', path.join(work, 'bin', applet));
    fs.mkdirSync(path.join(work, 'tmp'), { mode: 0o1777 });
    const image = assembleImage([await layerFromDirectory(work)], { Env: [`PATH=${defaultPath}`], Cmd: ['/bin/sh'] });
    return (await pushImage(sandbox.registry!, image, { repository: 'ferry/busybox', tag: 'test' })).reference;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

let sandbox: Sandbox | undefined;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let image: string;
const namespace = 'csi-pods';
const logs: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ ephemeral: true, node: 'real', s3: false, log: message => logs.push(message) });
  core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
  image = await pushBusyboxImage(sandbox);
  await createNamespace(core, namespace);
}, 600_000);

afterAll(() => sandbox?.stop(), 120_000);

function pod(name: string, claimName: string, script: string, options: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'main',
          image,
          command: ['/bin/sh', '-c', script],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
      ...options,
    },
  };
}

async function finished(name: string, timeoutMs = 180_000) {
  return waitFor(
    async () => {
      const current = await core.readNamespacedPod({ namespace, name });
      const terminated = current.status?.containerStatuses?.[0]?.state?.terminated;
      if (current.status?.phase === 'Failed') throw new Error(`pod ${name} failed: ${JSON.stringify(terminated)}`);
      return current.status?.phase === 'Succeeded' ? terminated! : undefined;
    },
    { description: `pod ${namespace}/${name} to succeed`, timeoutMs, intervalMs: 500 },
  );
}

describe('pods on claims of the CSI stack (real node)', () => {
  it('registers sandbox.ferry.io with the kubelet (CSINode)', async () => {
    const storage = sandbox!.kubeConfig.makeApiClient(StorageV1Api);
    const csiNode = await storage.readCSINode({ name: sandbox!.nodeName });
    expect(csiNode.spec.drivers.map(d => ({ name: d.name, nodeID: d.nodeID }))).toEqual([
      { name: 'sandbox.ferry.io', nodeID: sandbox!.nodeName },
    ]);
  });

  it('a file written by one pod is read by another from a claim restored from a snapshot', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace, body: claim('data', { resources: { requests: { storage: '64Mi' } } }) });
    await waitBound(core, namespace, 'data', 60_000);
    // The writer stays up: the snapshot is taken while the volume is mounted in its container.
    const writer = pod(
      'writer',
      'data',
      'head -c 3000017 /dev/urandom > /data/payload && sha256sum /data/payload > /data/payload.sha256 && touch /tmp/written && sleep 3600',
    );
    writer.spec!.containers[0].readinessProbe = { exec: { command: ['cat', '/tmp/written'] }, periodSeconds: 1 };
    await core.createNamespacedPod({ namespace, body: writer });
    await waitFor(
      async () => {
        const current = await core.readNamespacedPod({ namespace, name: 'writer' });
        if (current.status?.phase === 'Failed') throw new Error(`pod writer failed: ${JSON.stringify(current.status)}`);
        return current.status?.containerStatuses?.[0]?.ready ? current : undefined;
      },
      { description: 'pod writer to have written its file (Ready)', timeoutMs: 180_000, intervalMs: 500 },
    );
    await takeSnapshot(custom, namespace, 'data-snap', 'data');
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: claim('restored', { resources: { requests: { storage: '64Mi' } }, dataSource: fromSnapshot('data-snap') }),
    });
    await waitBound(core, namespace, 'restored', 60_000);
    await core.createNamespacedPod({
      namespace,
      body: pod(
        'reader',
        'restored',
        'cd /data && sha256sum -c payload.sha256 >&2 && { cut -d" " -f1 payload.sha256; sha256sum payload | cut -d" " -f1; } > /dev/termination-log',
      ),
    });
    const terminated = await finished('reader');
    const [written, read] = (terminated.message ?? '').trim().split('\n');
    expect(written).toMatch(/^[0-9a-f]{64}$/);
    expect(read).toBe(written);
  }, 600_000);

  it('grows a claim in use: the PV at once, the file system through the kubelet', async () => {
    await core.patchNamespacedPersistentVolumeClaim(
      { namespace, name: 'data', body: { spec: { resources: { requests: { storage: '160Mi' } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // The writer still has the volume mounted: the kubelet calls NodeExpandVolume on it. Where
    // the host lets root grow a mounted ext4 that finishes here; else (no CAP_SYS_RESOURCE) the
    // driver answers FAILED_PRECONDITION and the kubelet finishes after the next staging.
    await waitFor(
      async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
        const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
        return pv.spec?.capacity?.storage === '160Mi';
      },
      { description: 'the PV of claim data to grow to 160Mi', timeoutMs: 60_000, intervalMs: 500 },
    );
    await core.deleteNamespacedPod({ namespace, name: 'writer' });
    // Once the kubelet has unstaged the volume (its loop device is detached), the next pod
    // stages it anew, which grows the file system when the mounted one could not grow.
    const file = await sandbox!.claimVolumePath({ namespace, claim: 'data' });
    expect(findLoopFor(file)).toBeDefined();
    await waitFor(() => findLoopFor(file) === undefined, {
      description: 'the kubelet to unstage the volume of claim data',
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await core.createNamespacedPod({
      namespace,
      body: pod('grower', 'data', "df -k /data | tail -1 | { read fs blocks rest; echo $blocks; } > /dev/termination-log && sha256sum -c /data/payload.sha256"),
    });
    const terminated = await finished('grower');
    expect(Number(terminated.message?.trim())).toBeGreaterThan(140 * 1024); // KiB of the grown ext4
    const pvc = await waitFor(
      async () => {
        const current = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
        return current.status?.capacity?.storage === '160Mi' ? current : undefined;
      },
      { description: 'claim data to report 160Mi', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(pvc.status?.allocatedResourceStatuses?.storage).toBeUndefined();
  }, 600_000);

  it('a Block claim is a device in the container, its bytes in the volume', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: claim('raw', { volumeMode: 'Block', resources: { requests: { storage: '16Mi' } } }),
    });
    await waitBound(core, namespace, 'raw', 60_000);
    const raw = pod('raw-writer', 'raw', 'printf ferry-block > /dev/xvda && head -c 11 /dev/xvda > /dev/termination-log');
    raw.spec!.containers[0].volumeMounts = undefined;
    raw.spec!.containers[0].volumeDevices = [{ name: 'data', devicePath: '/dev/xvda' }];
    await core.createNamespacedPod({ namespace, body: raw });
    expect((await finished('raw-writer')).message).toBe('ferry-block');
    const file = await sandbox!.claimVolumePath({ namespace, claim: 'raw' });
    await waitFor(() => findLoopFor(file) === undefined, {
      description: 'the kubelet to unstage the volume of claim raw',
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    expect(fs.readFileSync(file).subarray(0, 11).toString()).toBe('ferry-block');
  }, 300_000);

  it('stop() leaves no mount or loop device of the sandbox behind', async () => {
    const dataDir = sandbox!.dataDir;
    // A pod still runs on a claim when the sandbox stops.
    const holder = pod('holder', 'restored', 'touch /tmp/up && sleep 3600');
    holder.spec!.containers[0].readinessProbe = { exec: { command: ['cat', '/tmp/up'] }, periodSeconds: 1 };
    await core.createNamespacedPod({ namespace, body: holder });
    await waitFor(
      async () => (await core.readNamespacedPod({ namespace, name: 'holder' })).status?.containerStatuses?.[0]?.ready,
      { description: 'pod holder to be Ready', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(listLoopDevices().filter(l => l.backingFile?.startsWith(dataDir))).toHaveLength(1);
    await sandbox!.stop();
    expect(readMountTable().filter(m => m.mountPoint.startsWith(dataDir))).toEqual([]);
    expect(listLoopDevices().filter(l => l.backingFile?.startsWith(dataDir))).toEqual([]);
  }, 120_000);
});
