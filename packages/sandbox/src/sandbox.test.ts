import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { sandboxVersions } from './binaries';
import { listLoopDevices } from './csi/loopDevices';
import { readMountTable } from './csi/mountTable';
import { isPortOpen } from './ports';
import { cgroupTreePids } from './node/cgroups';
import { linkExists } from './node/network';
import { readNodeRecords } from './node/slots';
import { Sandbox } from './sandbox';
import { createServiceAccountToken } from './serviceAccountToken';
import { claim, createNamespace, isGone, snapshotFile, takeSnapshot, useSharedSandbox, waitBound } from './testing/harness';
import { runningContainers, sleeperPod } from './testing/pods';
import { waitFor } from './waitFor';

// The sandbox as a whole on its real node: start-up options, the service-account token,
// namespace deletion with storage and running containers in it, and a stop that leaves nothing.
// Storage through the Sandbox API and Jobs are in storage.test.ts and jobs.test.ts.
const crdDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-sandbox-crds-'));
fs.writeFileSync(
  path.join(crdDir, 'widgets.yaml'),
  [
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    'metadata: { name: widgets.test.ferry.io }',
    'spec:',
    '  group: test.ferry.io',
    '  scope: Namespaced',
    '  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }',
    '  versions:',
    '    - name: v1',
    '      served: true',
    '      storage: true',
    '      subresources: { status: {} }',
    '      schema:',
    '        openAPIV3Schema:',
    '          type: object',
    '          properties:',
    '            spec: { type: object, x-kubernetes-preserve-unknown-fields: true }',
    '            status: { type: object, x-kubernetes-preserve-unknown-fields: true }',
    '',
  ].join('\n'),
);
const context = useSharedSandbox(() => ({ crdDirs: [crdDir] }));
let sandbox: Sandbox;
let core: CoreV1Api;
beforeAll(() => {
  ({ sandbox, core } = context);
});
afterAll(() => fs.rmSync(crdDir, { recursive: true, force: true }));

describe('start-up', () => {
  it('reports the pinned Kubernetes version and applies the CRDs of crdDirs', async () => {
    const version = await sandbox.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(sandboxVersions().kubernetes);
    const widget = await context.custom.createNamespacedCustomObject({
      group: 'test.ferry.io',
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      body: { apiVersion: 'test.ferry.io/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } },
    });
    expect(widget.metadata.uid).toBeTruthy();
  });

  it('issues a cluster-admin service-account token that the apiserver accepts', async () => {
    const { token } = await createServiceAccountToken(sandbox);
    const ca = fs.readFileSync(path.join(sandbox.dataDir, 'pki', 'ca.crt'));
    const status = (authorization: string) =>
      new Promise<number>((resolve, reject) => {
        https
          .get(`${sandbox.apiServerUrl}/api/v1/namespaces`, { ca, headers: { authorization } }, response => {
            response.resume();
            resolve(response.statusCode ?? 0);
          })
          .on('error', reject);
      });
    expect(await status(`Bearer ${token}`)).toBe(200);
    expect(await status('Bearer not-a-token')).toBe(401);
  }, 30_000);
});

describe('namespace deletion', () => {
  it('finishes with claims, a snapshot, a pod on a claim and a running Job in it, and deletes their files and containers', async () => {
    const ns = 'doomed';
    await createNamespace(core, ns);
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('vol') });
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('dev', { volumeMode: 'Block' }) });
    await waitBound(core, ns, 'vol');
    await waitBound(core, ns, 'dev');
    const files = [
      await sandbox.claimVolumePath({ namespace: ns, claim: 'vol' }),
      await sandbox.claimVolumePath({ namespace: ns, claim: 'dev' }),
    ];
    const snapshot = await takeSnapshot(context.custom, ns, 'vol-snap', 'vol');
    const snapshotImage = await snapshotFile(sandbox, context.custom, snapshot);
    expect(fs.existsSync(snapshotImage)).toBe(true);
    // A pod with the Filesystem claim mounted and the Block claim as a device, and a Job's pod.
    const app = sleeperPod(sandbox, 'app');
    app.spec!.containers[0].volumeMounts = [{ name: 'v', mountPath: '/data' }];
    app.spec!.containers[0].volumeDevices = [{ name: 'd', devicePath: '/dev/ferry-dev' }];
    app.spec!.volumes = [
      { name: 'v', persistentVolumeClaim: { claimName: 'vol' } },
      { name: 'd', persistentVolumeClaim: { claimName: 'dev' } },
    ];
    await core.createNamespacedPod({ namespace: ns, body: app });
    await context.batch.createNamespacedJob({
      namespace: ns,
      body: { metadata: { name: 'busy' }, spec: { template: { spec: { ...sleeperPod(sandbox, 'busy').spec!, restartPolicy: 'Never' } } } },
    });
    await waitFor(async () => (await runningContainers(sandbox, ns)).length === 2, {
      description: `the containers of pod app and job busy to run in ${ns}`,
      timeoutMs: 90_000,
    });
    expect(files.every(file => listLoopDevices().some(l => l.backingFile === file))).toBe(true);

    await core.deleteNamespace({ name: ns });
    await waitFor(() => isGone(() => core.readNamespace({ name: ns })), {
      description: `namespace ${ns} to be deleted`,
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    // Pods with no grace period are gone from the API at once; the kubelet then kills their containers.
    await waitFor(async () => (await runningContainers(sandbox, ns)).length === 0, {
      description: `crictl to list no container of ${ns}`,
      timeoutMs: 60_000,
    });
    for (const file of [...files, snapshotImage]) {
      await waitFor(() => !fs.existsSync(file), { description: `${file} to be deleted` });
    }
    expect(listLoopDevices().filter(l => files.includes(l.backingFile ?? ''))).toEqual([]);
  }, 180_000);
});

describe('stop', () => {
  it('leaves no process, port, mount, loop device, network device, cgroup or data folder behind', async () => {
    const apiPort = Number(new URL(sandbox.apiServerUrl).port);
    const record = readNodeRecords().find(r => r.dataDir === sandbox.dataDir)!;
    const runDir = path.join(sandbox.dataDir, 'run');
    const pids = fs
      .readdirSync(runDir)
      .filter(f => f.endsWith('.pid'))
      .map(f => Number(fs.readFileSync(path.join(runDir, f), 'utf8')));
    // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, versitygw, registry,
    // containerd, kubelet, csi-provisioner, csi-snapshotter, snapshot-controller
    expect(pids.length).toBeGreaterThanOrEqual(6);
    const nodePids = cgroupTreePids(record.cgroup);
    expect(nodePids.length).toBeGreaterThanOrEqual(2); // containerd and the kubelet at least
    // A pod on a Filesystem claim and a Block claim, so that stop() finds mounts and loop devices
    // in use (the kubelet's lock on the mapped Block device among them).
    await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: claim('last') });
    await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: claim('last-dev', { volumeMode: 'Block' }) });
    const pod = sleeperPod(sandbox, 'last');
    pod.spec!.containers[0].volumeMounts = [{ name: 'v', mountPath: '/data' }];
    pod.spec!.containers[0].volumeDevices = [{ name: 'd', devicePath: '/dev/last' }];
    pod.spec!.volumes = [
      { name: 'v', persistentVolumeClaim: { claimName: 'last' } },
      { name: 'd', persistentVolumeClaim: { claimName: 'last-dev' } },
    ];
    await core.createNamespacedPod({ namespace: 'default', body: pod });
    await waitFor(async () => (await runningContainers(sandbox, 'default')).includes('last'), {
      description: 'pod last to run',
      timeoutMs: 90_000,
    });
    expect(readMountTable().some(m => m.mountPoint.startsWith(sandbox.dataDir))).toBe(true);
    const loops = listLoopDevices().filter(l => l.backingFile?.startsWith(sandbox.dataDir)).map(l => l.device);
    expect(loops).toHaveLength(3); // two volumes and the kubelet's lock on the Block one

    await sandbox.stop();
    expect(await isPortOpen(apiPort)).toBe(false);
    for (const pid of [...pids, ...nodePids]) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(readMountTable().filter(m => m.mountPoint.startsWith(sandbox.dataDir))).toEqual([]);
    // None of them still attached: to a file of the sandbox, or (a lock whose device node is
    // unmounted) to backing file `/`.
    const attached = listLoopDevices().filter(l => l.backingFile?.startsWith(sandbox.dataDir) || (loops.includes(l.device) && l.backingFile === '/'));
    expect(attached).toEqual([]);
    expect(linkExists(record.network.bridge)).toBe(false);
    expect(cgroupTreePids(record.cgroup)).toEqual([]);
    expect(readNodeRecords().some(r => r.dataDir === sandbox.dataDir)).toBe(false);
    expect(fs.existsSync(sandbox.dataDir)).toBe(false);
  }, 120_000);
});
