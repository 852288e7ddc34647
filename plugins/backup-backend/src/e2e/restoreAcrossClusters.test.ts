import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { binaryPath, DemoApp, installDemoApp, Registry, Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitForOperation } from './__testUtils__/waitForOperation';
import request from 'supertest';
import { captureDemoState, demoClaims, expectDemoState, expectRealContainers } from './__testUtils__/demoState';
import { sandboxCluster, startE2eSandbox, startFerryBackend } from './__testUtils__/sandboxBackend';

const run = promisify(execFile);
jest.setTimeout(600_000);

const entityPath = '/api/backup/entities/component/default/shop';

// Both registries need credentials: the source's through the app's own pull secret, the
// recovery one through the authSecret of the restore request.
const withRegistryPassword = (password: string) => ({ registry: { auth: { username: 'ferry', password } } });

const basic = (registry: Registry) =>
  `Basic ${Buffer.from(`${registry.auth!.username}:${registry.auth!.password}`).toString('base64')}`;

/** The digest a registry serves for a reference (`host/repository:tag`). */
async function servedDigest(registry: Registry, reference: string): Promise<string | null> {
  const [, repository, tag] = /^[^/]+\/(.+):([^:@]+)$/.exec(reference)!;
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      authorization: basic(registry),
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  return response.ok ? response.headers.get('docker-content-digest') : null;
}

/**
 * Waits until every pod of the demo release in `namespace` has a container waiting to pull its
 * image (ErrImagePull or ImagePullBackOff); returns "<pod or demo-web>: <image>" per pod.
 */
async function waitForPullFailures(sandbox: Sandbox, namespace: string): Promise<string[]> {
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  for (let i = 0; i < 120; i++) {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=demo' })).items;
    const failing = pods.flatMap(pod =>
      (pod.status?.containerStatuses ?? [])
        .filter(s => ['ErrImagePull', 'ImagePullBackOff'].includes(s.state?.waiting?.reason ?? ''))
        .map(s => `${pod.metadata!.name!.startsWith('demo-web-') ? 'demo-web' : pod.metadata!.name}: ${s.image}`),
    );
    // The StatefulSet starts demo-db-1 only once demo-db-0 is ready: never, here.
    if (pods.length === 2 && failing.length === 2) return failing;
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
  throw new Error(`the pods in ${namespace} did not all fail to pull their images`);
}

/**
 * Makes the datamover image Ferry is configured with (one reference for every cluster, as
 * adopters pull it from a registry all their clusters reach) runnable on another sandbox's node:
 * that node's containerd pulls its own registry's copy of the same image and tags it with the
 * reference. (Each sandbox has its own registry here; the one in Ferry's configuration is the
 * source's, which goes away with it.)
 */
async function provideDatamoverImage(on: Sandbox, reference: string, password: string) {
  const ctr = (...args: string[]) => run('ctr', ['--address', on.criEndpoint!.replace(/^unix:\/\//, ''), '-n', 'k8s.io', ...args]);
  await ctr('images', 'pull', '--plain-http', '--user', `ferry:${password}`, on.images!.datamover);
  await ctr('images', 'tag', '--force', on.images!.datamover, reference);
}

let source: Sandbox | undefined;
let recovery: Sandbox;
let repositoryDir: string;
let backend: Awaited<ReturnType<typeof startFerryBackend>>;
let claims: string[];
let demo: DemoApp;

const waitFor = (kind: 'backups' | 'restores', id: string) =>
  waitForOperation({ server: backend.server, kind, id });

beforeAll(async () => {
  [source, recovery] = await Promise.all([
    startE2eSandbox(withRegistryPassword('source-secret')),
    startE2eSandbox(withRegistryPassword('recovery-secret')),
  ]);
  await provideDatamoverImage(recovery, source.images!.datamover, 'recovery-secret');
  demo = await installDemoApp(source);
  claims = await demoClaims(source);
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-clusters-'));
  backend = await startFerryBackend({
    sandbox: source,
    repositoryDir,
    extraClusters: [await sandboxCluster(recovery, 'recovery')],
    // The push credentials live in Ferry's namespace; the restored workloads pull with a copy.
    // Both sandbox registries speak plain HTTP (on the nodes' bridge addresses).
    ferry: { images: { copyAuthSecret: true, insecureRegistries: [source.registry!.host, recovery.registry!.host] } },
  });
});

afterAll(async () => {
  await backend?.stop();
  await Promise.all([source?.stop(), recovery?.stop()]);
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('restore into another configured cluster', () => {
  it('backs up the app with its images, restores it into cluster recovery after sandbox is gone', async () => {
    // What the backup holds: PostgreSQL's rows per replica and the raw claims' bytes.
    const state = await captureDemoState(source!, demo);
    const created = await request(backend.server).post(`${entityPath}/backups`).send({ type: 'full' });
    expect(created.status).toBe(201);
    const backup = await waitFor('backups', created.body.id);
    expect(backup.failures).toEqual([]);
    expect(backup.phase).toBe('Completed');
    // Both images were copied (through the app's pull secret), under the digests the registry serves.
    expect(backup.images).toEqual(
      expect.arrayContaining(demo.images.map(image => ({ image: image.reference, digest: image.digest, stored: true }))),
    );
    expect(backup.images).toHaveLength(demo.images.length);

    // An incremental backup that skips images stores none, and says so.
    const skipping = await request(backend.server).post(`${entityPath}/backups`).send({ type: 'incremental', skipImageBackup: true });
    const skipped = await waitFor('backups', skipping.body.id);
    expect(skipped.phase).toBe('Completed');
    expect(skipped.images.map((i: { stored: boolean }) => i.stored)).toEqual([false, false]);

    // The cluster the backup was taken in is lost, with its registry: only the target remains.
    await source!.stop();
    source = undefined;

    const post = (body: object) => request(backend.server).post(`${entityPath}/restores`).send(body);
    const into = { backupId: backup.id, cluster: 'recovery', namespace: 'demo' };
    const plain = await post({ ...into, dryRun: true });
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual(expect.objectContaining({ cluster: 'recovery', namespace: 'demo' }));
    expect(plain.body.objects.every((o: { action: string }) => o.action === 'create')).toBe(true);
    expect(plain.body.unreachableImages.sort()).toEqual(demo.images.map(i => i.reference).sort());
    expect(plain.body.images.map((i: { action: string; stored: boolean }) => `${i.action}/${i.stored}`)).toEqual([
      'unavailable/true',
      'unavailable/true',
    ]);
    expect(plain.body.warnings.join('\n')).toMatch(/image restore is not configured/);

    // Push credentials for the recovery registry, kept in Ferry's namespace there.
    const recoveryCore = recovery.kubeConfig.makeApiClient(CoreV1Api);
    // (The namespace exists already: the chart installed Ferry's service account there.)
    const registry = recovery.registry!;
    await recoveryCore.createNamespacedSecret({
      namespace: 'ferry-system',
      body: {
        metadata: { name: 'restore-registry' },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: {
          '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { username: 'ferry', password: 'recovery-secret' } } }),
        },
      },
    });
    const missing = await post({ ...into, dryRun: true, imageRestore: { registry: registry.host, authSecret: 'nope' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/^imageRestore\.authSecret: no Secret nope in namespace demo or ferry-system/);
    const imageRestore = { registry: registry.host, authSecret: 'restore-registry' };
    const planned = await post({ ...into, dryRun: true, imageRestore });
    expect(planned.body.images.map((i: { action: string }) => i.action)).toEqual(['push', 'push']);

    const restored = await post({ ...into, imageRestore, readyTimeoutSeconds: 180 });
    expect(restored.status).toBe(201);
    expect(restored.body).toEqual(expect.objectContaining({ cluster: 'recovery', namespace: 'demo' }));
    const restore = await waitFor('restores', restored.body.id);
    expect(restore.failures).toEqual([]);
    expect(restore.phase).toBe('Completed');

    expect(restore.volumes.map((v: { pvc: string; phase: string }) => `${v.pvc}:${v.phase}`).sort()).toEqual(
      claims.map(c => `${c}:Completed`),
    );
    // The recovery cluster runs the app from the pushed images: PostgreSQL there returns the
    // backed-up rows, the raw claims hold their bytes, the pods are real containers.
    await expectDemoState(recovery, demo, 'demo', state);
    await expectRealContainers(recovery, demo, 'demo');
    // Each image is in the recovery registry under the same digest, and the workloads run it.
    const apps = recovery.kubeConfig.makeApiClient(AppsV1Api);
    const specs = [
      (await apps.readNamespacedDeployment({ namespace: 'demo', name: 'demo-web' })).spec!.template.spec!,
      (await apps.readNamespacedStatefulSet({ namespace: 'demo', name: 'demo-db' })).spec!.template.spec!,
    ];
    for (const original of demo.images) {
      const outcome = restore.images.find((i: { image: string }) => i.image === original.reference);
      const name = original.reference.split('/').slice(1).join('/').split(':')[0].split('/').pop();
      expect(outcome).toEqual(
        expect.objectContaining({
          action: 'push',
          restored: `${registry.host}/ferry/demo/${name}:1.0@${original.digest}`,
          tagChanged: false,
        }),
      );
      expect(await servedDigest(registry, `${registry.host}/ferry/demo/${name}:1.0`)).toBe(original.digest);
    }
    expect(specs.map(spec => spec.containers[0].image).sort()).toEqual(
      restore.images.map((i: { restored: string }) => i.restored).sort(),
    );
    for (const spec of specs) {
      expect(spec.imagePullSecrets?.map(s => s.name)).toEqual(['demo-pull', 'restore-registry']);
    }
    expect((await recoveryCore.readNamespacedSecret({ namespace: 'demo', name: 'restore-registry' })).type).toBe(
      'kubernetes.io/dockerconfigjson',
    );

    const helm = await run(binaryPath('helm'), ['--kubeconfig', recovery.kubeconfigPath, 'list', '-n', 'demo', '-o', 'json']);
    expect(JSON.parse(helm.stdout)).toEqual([
      expect.objectContaining({ name: 'demo', namespace: 'demo', status: 'deployed' }),
    ]);
    // Without image restore, unreachable images are reported, not failures: the readiness check
    // decides whether workloads started (not checked here: readyTimeoutSeconds 0). They cannot:
    // the recovery node's containerd fails to pull the lost registry's images.
    const reported = await post({ ...into, namespace: 'demo-plain', readyTimeoutSeconds: 0 });
    const plainRestore = await waitFor('restores', reported.body.id);
    expect(plainRestore.phase).toBe('Completed');
    expect(plainRestore.images.map((i: { action: string }) => i.action)).toEqual(['unavailable', 'unavailable']);
    expect(plainRestore.timeline.map((t: { message: string }) => t.message).join('\n')).toMatch(
      /2 images: 0 reachable as they are, 2 unavailable \(/,
    );
    const pullFailures = await waitForPullFailures(recovery, 'demo-plain');
    const imageOf = (component: string) => demo.images.find(i => i.reference.includes(`/demo/${component}:`))!.reference;
    expect(pullFailures.sort()).toEqual([`demo-db-0: ${imageOf('db')}`, `demo-web: ${imageOf('web')}`]);

    // The namespace did not exist in the recovery cluster: the Restore lives in Ferry's namespace.
    const custom = recovery.kubeConfig.makeApiClient(CustomObjectsApi);
    const restores = (await custom.listNamespacedCustomObject({
      group: 'ferry.io',
      version: 'v1alpha1',
      plural: 'restores',
      namespace: 'ferry-system',
    })) as { items: Array<{ spec: { backupId: string; namespace: string } }> };
    expect(restores.items.map(r => `${r.spec.backupId} → ${r.spec.namespace}`).sort()).toEqual([
      `${backup.id} → demo`,
      `${backup.id} → demo-plain`,
    ]);
  });
});
