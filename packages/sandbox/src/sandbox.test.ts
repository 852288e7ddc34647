import { BatchV1Api, CoreV1Api, CustomObjectsApi, Exec, V1Status, VersionApi } from '@kubernetes/client-node';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { binaryPath, sandboxVersions } from './binaries';
import { installDemoApp } from './demoApp';
import { isPortOpen } from './ports';
import { Sandbox } from './sandbox';
import { createServiceAccountToken } from './serviceAccountToken';
import {
  claim,
  createNamespace,
  execFileAsync,
  isGone,
  snapshotApi,
  takeSnapshot,
  useSharedSandbox,
  waitBound,
} from './testing/harness';
import { waitFor } from './waitFor';

// The sandbox as a whole: start-up options, Helm and the demo app, namespace deletion, stop.
// A sleep duration unique to this run, so the `ps` check does not see other people's processes.
const busySleep = 10_000 + Math.floor(Math.random() * 80_000);
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
const context = useSharedSandbox(() => ({ crdDirs: [crdDir], registry: true }));
let sandbox: Sandbox;
let core: CoreV1Api;
let batch: BatchV1Api;
let custom: CustomObjectsApi;
beforeAll(() => {
  ({ sandbox, core, batch, custom } = context);
});
afterAll(() => fs.rmSync(crdDir, { recursive: true, force: true }));

describe('start-up', () => {
  it('reports the pinned Kubernetes version and applies the CRDs of crdDirs', async () => {
    const version = await sandbox.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(sandboxVersions().kubernetes);
    const widget = await custom.createNamespacedCustomObject({
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

describe('helm on the sandbox', () => {
  it('installs the demo chart: release Secret, bound claims, Ready pods, data in the volumes', async () => {
    const demo = await installDemoApp(sandbox);
    // Its images were pushed into the sandbox's registry and the pods run them.
    expect(demo.images.map(i => i.reference).sort()).toEqual(
      [`${sandbox.registry!.host}/demo/db:1.0`, `${sandbox.registry!.host}/demo/web:1.0`],
    );
    const release = await core.readNamespacedSecret({ name: 'sh.helm.release.v1.demo.v1', namespace: 'demo' });
    expect(release.type).toBe('helm.sh/release.v1');
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: 'demo' });
    expect(claims.items.map(c => c.metadata!.name).sort()).toEqual(['data-demo-db-0', 'data-demo-db-1', 'wal-demo-db-0', 'wal-demo-db-1']);
    expect(claims.items.every(c => c.status?.phase === 'Bound')).toBe(true);
    const pods = await core.listNamespacedPod({ namespace: 'demo' });
    expect(pods.items).toHaveLength(3);
    expect(pods.items.every(p => p.spec!.containers[0].image!.startsWith(`${sandbox.registry!.host}/demo/`))).toBe(true);
    expect(pods.items.every(p => p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True'))).toBe(true);
    const env = { ...process.env, KUBECONFIG: sandbox.kubeconfigPath, HELM_CACHE_HOME: path.join(sandbox.dataDir, 'helm') };
    const { stdout } = await execFileAsync(binaryPath('helm'), ['list', '--namespace', 'demo', '--output', 'json'], { env });
    expect(JSON.parse(stdout)[0]).toMatchObject({ name: 'demo', status: 'deployed' });
    // The data written by installDemoApp is in the volumes.
    expect([...demo.written.keys()].sort()).toEqual(['data-demo-db-0', 'data-demo-db-1', 'wal-demo-db-0', 'wal-demo-db-1']);
    for (const [claimName, extents] of demo.written) {
      for (const extent of extents) {
        const read = await sandbox.readVolume({ namespace: 'demo', claim: claimName, offset: extent.offset, length: extent.data.length });
        expect(read.equals(extent.data)).toBe(true);
      }
    }
  }, 150_000);
});

describe('exec through the apiserver (pre/post hooks)', () => {
  async function execIn(pod: string, container: string, command: string[], input?: string) {
    let stdout = '';
    let stderr = '';
    const collect = (append: (text: string) => void) =>
      new Writable({
        write(chunk, _encoding, done) {
          append(chunk.toString());
          done();
        },
      });
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(sandbox.kubeConfig)
        .exec(
          'demo',
          pod,
          container,
          command,
          collect(text => (stdout += text)),
          collect(text => (stderr += text)),
          input === undefined ? null : Readable.from([input]),
          false,
          resolve,
        )
        .catch(reject);
    });
    return { stdout, stderr, status };
  }

  it('runs a command with the container env and volumes, and reports exit codes', async () => {
    const pods = await core.listNamespacedPod({ namespace: 'demo', labelSelector: 'app.kubernetes.io/component=web' });
    const web = pods.items[0].metadata!.name!;
    const ok = await execIn(web, 'web', ['sh', '-c', 'echo "$greeting"; echo oops >&2']);
    expect(ok.status.status).toBe('Success');
    expect(ok.stdout).toBe('hello from demo\n'); // envFrom the release's ConfigMap
    expect(ok.stderr).toBe('oops\n');
    const failed = await execIn(web, 'web', ['sh', '-c', 'exit 3']);
    expect(failed.status.status).toBe('Failure');
    expect(failed.status.details?.causes?.[0]).toMatchObject({ reason: 'ExitCode', message: '3' });
    // stdin, and a claim of the StatefulSet mounted where the pod spec says.
    const db = await execIn('demo-db-0', 'db', ['sh', '-c', 'cat > /var/lib/postgresql/data/hook.txt; cat /var/lib/postgresql/data/hook.txt'], 'frozen\n');
    expect(db.stdout).toBe('frozen\n');
  }, 60_000);
});

describe('namespace deletion', () => {
  it('finishes with claims, snapshots, pods and jobs in it, and deletes their files', async () => {
    const ns = 'doomed';
    await createNamespace(core, ns);
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('vol') });
    await waitBound(core, ns, 'vol');
    const file = await sandbox.claimVolumePath({ namespace: ns, claim: 'vol' });
    const vs = await takeSnapshot(custom, ns, 'vol-snap', 'vol');
    const content = (await custom.getClusterCustomObject({
      ...snapshotApi,
      plural: 'volumesnapshotcontents',
      name: vs.status!.boundVolumeSnapshotContentName!,
    })) as { status: { snapshotHandle: string } };
    const snapshotFile = path.join(sandbox.dataDir, 'snapshots', `${content.status.snapshotHandle}.img`);
    expect(fs.existsSync(snapshotFile)).toBe(true);
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'app' },
        spec: {
          containers: [{ name: 'app', image: 'busybox:1.36', volumeMounts: [{ name: 'v', mountPath: '/data' }] }],
          volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'vol' } }],
        },
      },
    });
    await waitFor(
      async () => (await core.readNamespacedPod({ name: 'app', namespace: ns })).status?.phase === 'Running',
      { description: 'pod app to run' },
    );
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'mover' } } });
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'busy' },
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              serviceAccountName: 'mover',
              containers: [{ name: 'm', image: 'ferry.io/datamover:dev', command: ['sh', '-c', `echo busy; exec sleep ${busySleep}`] }],
            },
          },
        },
      },
    });
    await waitFor(
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=busy' });
        return pods.items.some(p => p.status?.containerStatuses?.[0]?.state?.running);
      },
      { description: 'the busy job pod to run' },
    );
    await core.deleteNamespace({ name: ns });
    await waitFor(
      () => isGone(() => core.readNamespace({ name: ns })),
      { description: `namespace ${ns} to be deleted`, timeoutMs: 90_000, intervalMs: 500 },
    );
    await waitFor(() => !fs.existsSync(file), { description: `${file} to be deleted` });
    await waitFor(() => !fs.existsSync(snapshotFile), { description: `${snapshotFile} to be deleted` });
    const { stdout } = await execFileAsync('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(`sleep ${busySleep}`);
  }, 120_000);
});

describe('stop', () => {
  it('leaves no process, port or data folder behind', async () => {
    const apiPort = Number(new URL(sandbox.apiServerUrl).port);
    const s3Port = Number(new URL(sandbox.s3!.endpoint).port);
    const pids = fs
      .readdirSync(path.join(sandbox.dataDir, 'run'))
      .filter(f => f.endsWith('.pid'))
      .map(f => Number(fs.readFileSync(path.join(sandbox.dataDir, 'run', f), 'utf8')));
    expect(pids.length).toBe(6); // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, versitygw, registry
    await sandbox.stop();
    expect(await isPortOpen(apiPort)).toBe(false);
    expect(await isPortOpen(s3Port)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(fs.existsSync(sandbox.dataDir)).toBe(false);
  }, 60_000);
});
