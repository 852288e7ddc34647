import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { PermissionsService } from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { binaryPath, DemoApp, installDemoApp, Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { namespaceContents, phaseTimes } from './__testUtils__/namespaceContents';
import { waitForOperation } from './__testUtils__/waitForOperation';
import request from 'supertest';
import {
  captureDemoState,
  changeDemoData,
  deleteNamespace,
  demoClaims,
  DemoState,
  dropNamespace,
  expectDemoState,
  expectRealContainers,
  readClaim,
} from './__testUtils__/demoState';
import { hydratedBytes } from './__testUtils__/qemuChain';
import { startE2eSandbox, startFerryBackend } from './__testUtils__/sandboxBackend';

const run = promisify(execFile);
jest.setTimeout(600_000);

const repoRoot = path.resolve(__dirname, '../../../..');
const entityPath = '/api/backup/entities/component/default/shop';
const appId = 'component.default.shop';

let sandbox: Sandbox;
let demo: DemoApp;
let repositoryDir: string;
let server: Awaited<ReturnType<typeof startFerryBackend>>['server'];
let stopBackend: () => Promise<void>;
let claims: string[];
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const waitFor = (kind: 'backups' | 'restores', id: string) => waitForOperation({ server, kind, id });

const contentsOf = (namespace: string) => namespaceContents(sandbox.kubeConfig, namespace);

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  demo = await installDemoApp(sandbox);
  claims = await demoClaims(sandbox);
  core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  apps = sandbox.kubeConfig.makeApiClient(AppsV1Api);
  custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-restore-'));
  const backend = await startFerryBackend({ sandbox, repositoryDir });
  server = backend.server;
  stopBackend = () => backend.stop();
});

afterAll(async () => {
  await stopBackend?.();
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('restore of the demo Helm app on the sandbox, through the API', () => {
  /** What each backup holds: the rows PostgreSQL returned and the raw claims' bytes just before it. */
  const states: DemoState[] = [];
  const ids: string[] = [];

  it('backs up the app, full then incremental, and refuses to restore a backup that is still running', async () => {
    /** Captures what the app holds, then asks for a backup; returns its id. */
    const startBackup = async (type: 'full' | 'incremental') => {
      states.push(await captureDemoState(sandbox, demo));
      const created = await request(server).post(`${entityPath}/backups`).send({ type });
      expect(created.status).toBe(201);
      return created.body.id as string;
    };
    const expectCompleted = async (id: string, type: 'full' | 'incremental') => {
      const backup = await waitFor('backups', id);
      expect(backup.phase).toBe('Completed');
      expect(backup.kind).toBe(type);
      ids.push(backup.id);
    };
    await expectCompleted(await startBackup('full'), 'full');
    await changeDemoData(sandbox, demo, { rows: 150, rawBytes: 300 * 1024, at: 2 * 1024 * 1024 });
    const incremental = await startBackup('incremental');
    const early = await request(server).post(`${entityPath}/restores`).send({ backupId: incremental, namespace: 'demo-bad' });
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(new RegExp(`backupId: backup ${incremental} is (Pending|Running)`));
    await expectCompleted(incremental, 'incremental');
  });

  it('refuses bad requests with 4xx naming the problem, writing nothing', async () => {
    const post = (body: object) => request(server).post(`${entityPath}/restores`).send(body);
    const unknown = await post({ backupId: '20200101T000000000Z-abcdef', namespace: 'demo-bad' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/backupId: no backup 20200101T000000000Z-abcdef/);

    const extra = await post({ backupId: ids[1], namespace: 'demo-bad', overwrite: true });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toMatch(/overwrite/);

    const badPatch = await post({
      backupId: ids[1],
      namespace: 'demo-bad',
      transforms: { patches: [{ target: { kind: 'Deployment' }, operations: [{ op: 'replace', path: 'spec/replicas', value: 2 }] }] },
    });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body.error.message).toMatch(/transforms\.patches\.0\.operations\.0\.path/);

    const notApplicable = await post({
      backupId: ids[1],
      namespace: 'demo-bad',
      transforms: { patches: [{ target: { kind: 'Deployment', name: 'demo-web' }, operations: [{ op: 'replace', path: '/spec/nothing/here', value: 2 }] }] },
    });
    expect(notApplicable.status).toBe(400);
    expect(notApplicable.body.error.message).toMatch(/transforms\.patches\.0 cannot be applied to Deployment demo-web/);

    const unmapped = await post({ backupId: ids[1], namespace: 'demo-bad', transforms: { storageClassMap: { 'ferry-sandbox': 'gold' } } });
    expect(unmapped.status).toBe(400);
    expect(unmapped.body.error.message).toMatch(/storage class 'gold' of claim \S+ does not exist/);

    // (A backup still running is refused with 409: the first test.)
    const denyAnywhere: PermissionsService = {
      authorize: async requests =>
        requests.map(r => ({
          result: r.permission.name === 'backup.restore.anywhere' ? AuthorizeResult.DENY : AuthorizeResult.ALLOW,
        })) as never,
      authorizeConditional: async requests => requests.map(() => ({ result: AuthorizeResult.ALLOW })) as never,
    };
    const restricted = await startFerryBackend({ sandbox, repositoryDir, permissions: denyAnywhere });
    try {
      const elsewhere = await request(restricted.server).post(`${entityPath}/restores`).send({ backupId: ids[1], namespace: 'demo-bad' });
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.body.error.message).toMatch(/demo-bad .*needs the backup\.restore\.anywhere permission/);
      // Disaster recovery: this backend's database is empty; the backup is found on the target.
      const recovered = await request(restricted.server)
        .post(`${entityPath}/restores`)
        .send({ backupId: ids[1], dryRun: true });
      expect(recovered.status).toBe(200);
      expect(recovered.body).toEqual(expect.objectContaining({ backupId: ids[1], namespace: 'demo', cluster: 'sandbox' }));
      expect(recovered.body.objects.map((o: { kind: string; name: string }) => `${o.kind}/${o.name}`)).toContain('StatefulSet/demo-db');
    } finally {
      await restricted.stop();
    }
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map(n => n.metadata?.name)).not.toContain('demo-bad');
  });

  it('dry-runs against a namespace with conflicting objects: lists exactly those, writes nothing', async () => {
    await core.createNamespace({ body: { metadata: { name: 'demo-conflict' } } });
    const live = await core.readNamespacedConfigMap({ namespace: 'demo', name: 'demo-config' });
    await core.createNamespacedConfigMap({
      namespace: 'demo-conflict',
      body: { metadata: { name: 'demo-config' }, data: { ...live.data, extra: 'only-here' } },
    });
    await core.createNamespacedService({
      namespace: 'demo-conflict',
      body: { metadata: { name: 'demo-web' }, spec: { ports: [{ port: 8080 }] } },
    });
    const before = await contentsOf('demo-conflict');
    const response = await request(server)
      .post(`${entityPath}/restores`)
      .send({ backupId: ids[1], namespace: 'demo-conflict', dryRun: true });
    expect(response.status).toBe(200);
    const result = response.body;
    expect(result.dryRun).toBe(true);
    type Change = { kind: string; name: string; action: string; diff?: string; namespace?: string };
    const conflicts = (result.objects as Change[]).filter(o => o.action !== 'create').map(o => `${o.kind}/${o.name}`).sort();
    const preexisting = before.filter(name => !name.startsWith('ConfigMap/kube-root-ca.crt'));
    // Exactly the objects of the backup that exist there now (the namespace's own default account included).
    expect(conflicts).toEqual(
      preexisting.filter(name => (result.objects as Change[]).some(o => `${o.kind}/${o.name}` === name)),
    );
    expect(conflicts).toEqual(expect.arrayContaining(['ConfigMap/demo-config', 'Service/demo-web']));
    const configMap = (result.objects as Change[]).find(o => o.kind === 'ConfigMap' && o.name === 'demo-config')!;
    expect(configMap.action).toBe('skip');
    expect(configMap.diff).toMatch(/^-\s+extra: only-here$/m);
    const deployment = (result.objects as Change[]).find(o => o.kind === 'Deployment' && o.name === 'demo-web')!;
    expect(deployment.action).toBe('create');
    expect(deployment.namespace).toBe('demo-conflict');
    expect(deployment.diff).toMatch(/^\+kind: Deployment$/m);
    expect(result.volumes.map((v: { pvc: string; action: string }) => `${v.pvc}:${v.action}`).sort()).toEqual(
      claims.map(c => `${c}:create`),
    );

    const patch = await request(server)
      .post(`${entityPath}/restores`)
      .send({ backupId: ids[1], namespace: 'demo-conflict', dryRun: true, existing: 'patch' });
    expect(patch.status).toBe(200);
    const patched = (patch.body.objects as Change[]).find(o => o.kind === 'ConfigMap' && o.name === 'demo-config')!;
    expect(patched.action).toBe('patch');
    // Server-side apply keeps the field ferry does not own; the backed-up labels are added.
    expect(patched.diff).not.toMatch(/^-\s+extra: only-here$/m);
    expect(await contentsOf('demo-conflict')).toEqual(before);
    const cm = await core.readNamespacedConfigMap({ namespace: 'demo-conflict', name: 'demo-config' });
    expect(cm.data?.extra).toBe('only-here');
  });

  it('restores metadata only over conflicting objects with server-side apply (existing: patch), PartiallyFailed naming the object the API server refuses', async () => {
    const created = await request(server)
      .post(`${entityPath}/restores`)
      .send({ backupId: ids[1], namespace: 'demo-conflict', existing: 'patch', scope: 'metadata-only', readyTimeoutSeconds: 0 });
    expect(created.status).toBe(201);
    const restore = await waitFor('restores', created.body.id);
    // The conflicting Service's unnamed port merges with the backed-up one: the API server
    // refuses two unnamed ports, so that object fails with its reason and the rest is restored.
    expect(restore.failures).toEqual([
      { kind: 'Resource', name: 'Service/demo-web', reason: expect.stringMatching(/spec\.ports\[\d\]\.name: Required value/) },
    ]);
    expect(restore.phase).toBe('PartiallyFailed');
    expect(restore.volumes).toEqual([]);
    const outcome = (kind: string, name: string) =>
      restore.objects.find((o: { kind: string; name: string }) => o.kind === kind && o.name === name)?.outcome;
    expect(outcome('ConfigMap', 'demo-config')).toBe('Patched');
    expect(outcome('Service', 'demo-web')).toBe('Failed');
    expect(outcome('Deployment', 'demo-web')).toBe('Created');
    expect(outcome('StatefulSet', 'demo-db')).toBe('Created');
    const backedUp = await core.readNamespacedConfigMap({ namespace: 'demo', name: 'demo-config' });
    const cm = await core.readNamespacedConfigMap({ namespace: 'demo-conflict', name: 'demo-config' });
    expect(cm.data).toEqual({ ...backedUp.data, extra: 'only-here' });
    expect(cm.metadata?.labels).toEqual(backedUp.metadata?.labels);
    // The workloads it created start PostgreSQL on new, empty claims: nothing later needs them.
    await dropNamespace(sandbox, 'demo-conflict');
  });

  it('restores the incremental backup into a new namespace after the app was deleted: PostgreSQL there returns its rows', async () => {
    await deleteNamespace(sandbox, 'demo');
    const started = Date.now();
    const created = await request(server)
      .post(`${entityPath}/restores`)
      .send({ backupId: ids[1], namespace: 'demo-restored', readyTimeoutSeconds: 180 });
    expect(created.status).toBe(201);
    expect(created.body.namespace).toBe('demo-restored');
    const restore = await waitFor('restores', created.body.id);
    // eslint-disable-next-line no-console
    console.log(`Restore of ${ids[1]} took ${((Date.now() - started) / 1000).toFixed(1)} s: ${phaseTimes(restore.timeline)}`);
    expect(restore.failures).toEqual([]);
    expect(restore.phase).toBe('Completed');
    expect(restore.volumes.map((v: { pvc: string; phase: string }) => `${v.pvc}:${v.phase}`).sort()).toEqual(
      claims.map(c => `${c}:Completed`),
    );
    for (const claim of claims) {
      const live = await core.readNamespacedPersistentVolumeClaim({ namespace: 'demo-restored', name: claim });
      expect({ claim, mode: live.spec?.volumeMode }).toEqual({ claim, mode: claim.startsWith('raw-') ? 'Block' : 'Filesystem' });
      expect(live.status?.phase).toBe('Bound');
      // A Block claim is hydrated directly (no snapshot round); a Filesystem claim is provisioned
      // from a snapshot of the hydrated device. Both carry the id of the restore that made them.
      expect({ claim, source: live.spec?.dataSource?.kind ?? 'none', by: live.metadata?.annotations?.['ferry.io/restore-id'] }).toEqual({
        claim,
        source: claim.startsWith('raw-') ? 'none' : 'VolumeSnapshot',
        by: created.body.id,
      });
    }
    // PostgreSQL runs from the restored volumes with exactly the rows of the backup; the raw
    // claims hold its bytes; the pods are real containers.
    await expectDemoState(sandbox, demo, 'demo-restored', states[1]);
    await expectRealContainers(sandbox, demo, 'demo-restored');
    const contents = await contentsOf('demo-restored');
    expect(contents).toEqual(
      expect.arrayContaining([
        'Deployment/demo-web',
        'StatefulSet/demo-db',
        'Service/demo-web',
        'ConfigMap/demo-config',
        'Secret/sh.helm.release.v1.demo.v1',
      ]),
    );
    const outcomes = restore.objects.map((o: { kind: string; outcome: string }) => o.outcome);
    expect(outcomes).not.toContain('Failed');
    const helm = await run(binaryPath('helm'), ['--kubeconfig', sandbox.kubeconfigPath, 'list', '-n', 'demo-restored', '-o', 'json']);
    const releases = JSON.parse(helm.stdout) as Array<{ name: string; namespace: string; status: string }>;
    expect(releases).toEqual([expect.objectContaining({ name: 'demo', namespace: 'demo-restored', status: 'deployed' })]);
    const statefulSet = await apps.readNamespacedStatefulSet({ namespace: 'demo-restored', name: 'demo-db' });
    expect(statefulSet.status?.readyReplicas).toBe(statefulSet.spec?.replicas);
    // No temporary object of the restore is left behind.
    const temporaries = await core.listNamespacedPersistentVolumeClaim({
      namespace: 'demo-restored',
      labelSelector: 'app.kubernetes.io/managed-by=ferry',
    });
    expect(temporaries.items).toEqual([]);
    // demo-restored did not exist when the restore was asked for: its Restore lives in Ferry's
    // namespace, and the restored namespace holds only the application.
    const inFerryNamespace = (await custom.listNamespacedCustomObject({
      group: 'ferry.io',
      version: 'v1alpha1',
      plural: 'restores',
      namespace: 'ferry-system',
    })) as { items: Array<{ metadata: { annotations?: Record<string, string> }; spec: { namespace?: string } }> };
    expect(
      inFerryNamespace.items.filter(r => r.metadata.annotations?.['ferry.io/restore-id'] === created.body.id).map(r => r.spec.namespace),
    ).toEqual(['demo-restored']);
    expect(contents.filter(c => c.startsWith('Restore/'))).toEqual([]);
  });

  it('leaves a release that helm upgrade takes over in the new namespace', async () => {
    const env = {
      ...process.env,
      HELM_CACHE_HOME: path.join(repositoryDir, 'helm', 'cache'),
      HELM_CONFIG_HOME: path.join(repositoryDir, 'helm', 'config'),
    };
    const helm = (...args: string[]) =>
      run(binaryPath('helm'), ['--kubeconfig', sandbox.kubeconfigPath, ...args], { env });
    await helm('upgrade', 'demo', path.join(repoRoot, 'test/fixtures/charts/demo'), '-n', 'demo-restored', '--reuse-values');
    const releases = JSON.parse((await helm('list', '-n', 'demo-restored', '-o', 'json')).stdout) as Array<{
      name: string;
      revision: string;
      status: string;
    }>;
    expect(releases).toEqual([expect.objectContaining({ name: 'demo', revision: '2', status: 'deployed' })]);
    const manifest = (await helm('get', 'manifest', 'demo', '-n', 'demo-restored')).stdout;
    expect(manifest).toContain('name: demo-web');
  });

  it('restores the full backup into a third namespace, with a JSON patch: the rows and bytes of the full backup', async () => {
    const created = await request(server)
      .post(`${entityPath}/restores`)
      .send({
        backupId: ids[0],
        namespace: 'demo-full',
        transforms: {
          patches: [{ target: { kind: 'ConfigMap', name: 'demo-config' }, operations: [{ op: 'add', path: '/data/restored', value: 'yes' }] }],
        },
        omitLabels: ['helm.sh/chart'],
        readyTimeoutSeconds: 180,
      });
    expect(created.status).toBe(201);
    const restore = await waitFor('restores', created.body.id);
    expect(restore.failures).toEqual([]);
    expect(restore.phase).toBe('Completed');
    await expectDemoState(sandbox, demo, 'demo-full', states[0]);
    const cm = await core.readNamespacedConfigMap({ namespace: 'demo-full', name: 'demo-config' });
    expect(cm.data?.restored).toBe('yes');
    const deployment = await apps.readNamespacedDeployment({ namespace: 'demo-full', name: 'demo-web' });
    expect(deployment.metadata?.labels?.['helm.sh/chart']).toBeUndefined();
    await dropNamespace(sandbox, 'demo-full');
  });

  it('runs a data-only Restore a platform operator applied with kubectl in Ferry\'s namespace (kubectl shows its phase and progress): every restored volume equals the backup\'s chain', async () => {
    const manifest = path.join(repositoryDir, 'restore.yaml');
    await fs.writeFile(
      manifest,
      [
        'apiVersion: ferry.io/v1alpha1',
        'kind: Restore',
        'metadata: {name: by-hand, namespace: ferry-system}',
        'spec:',
        `  backupId: ${ids[1]}`,
        '  appId: component.default.shop',
        '  target: local',
        '  sourceNamespace: demo',
        '  namespace: demo-kubectl',
        // Volumes only: no pod mounts them, so their bytes stay as restored.
        '  scope: data-only',
      ].join('\n'),
    );
    const kubectl = (...args: string[]) =>
      run(binaryPath('kubectl'), ['--kubeconfig', sandbox.kubeconfigPath, ...args]);
    await kubectl('apply', '-f', manifest);
    let table = '';
    for (let i = 0; i < 300; i++) {
      table = (await kubectl('get', 'restores', '-n', 'ferry-system', 'by-hand')).stdout;
      if (/Completed|Failed/.test(table)) break;
      await sleep(1000);
    }
    expect(table).toMatch(/NAME\s+PHASE\s+BACKUP\s+PROGRESS\s+AGE/);
    expect(table).toMatch(new RegExp(`by-hand\\s+Completed\\s+${ids[1]}\\s+6/6 volumes, 100%`));
    // Bytes restored equal bytes backed up: each claim (ext4 ones included) against the
    // incremental's chain hydrated by qemu-img; the raw claims also against the live bytes then.
    for (const claim of claims) {
      const restored = await readClaim(sandbox, 'demo-kubectl', claim);
      const stored = await hydratedBytes({ repositoryDir, app: appId, pvc: claim, backupId: ids[1] });
      const live = states[1].raw.get(claim); // the raw claims' bytes just before the backup
      expect({ claim, equal: restored.equals(stored), equalToLive: live ? restored.equals(live) : 'not a raw claim' }).toEqual({
        claim,
        equal: true,
        equalToLive: claim.startsWith('raw-') ? true : 'not a raw claim',
      });
    }
    // No entity annotation: it is listed under the entity of the backup it restored, under the
    // resource's uid, and its detail opens.
    const { stdout: uid } = await kubectl('get', 'restore', '-n', 'ferry-system', 'by-hand', '-o', 'jsonpath={.metadata.uid}');
    let listed: Array<{ id: string; phase: string }> = [];
    for (let i = 0; i < 30; i++) {
      listed = (await request(server).get(`${entityPath}/restores`)).body.items;
      if (listed.some(r => r.id === uid && r.phase === 'Completed')) break;
      await sleep(500);
    }
    expect(listed).toContainEqual(
      expect.objectContaining({
        id: uid,
        namespace: 'demo-kubectl',
        backupId: ids[1],
        phase: 'Completed',
        trigger: { type: 'kubernetes' },
      }),
    );
    const detail = await request(server).get(`${entityPath}/restores/${uid}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id: uid, phase: 'Completed', resourceName: 'ferry-system/by-hand' });
  });

  it('streams a restore\'s progress as server-sent events', async () => {
    const listed = await request(server).get(`${entityPath}/restores`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.length).toBeGreaterThanOrEqual(2);
    const done = listed.body.items.find((r: { phase: string }) => r.phase === 'Completed');
    const events = await request(server).get(`${entityPath}/restores/${done.id}/events`);
    expect(events.status).toBe(200);
    expect(events.headers['content-type']).toMatch(/text\/event-stream/);
    expect(events.text).toMatch(/^event: progress\ndata: \{.*"phase":"Completed"/m);
    expect(events.text).toMatch(/event: end/);
  });

  it('resumes a restore on another replica when the one running it stops', async () => {
    const created = await request(server)
      .post(`${entityPath}/restores`)
      .send({ backupId: ids[0], namespace: 'demo-resume', readyTimeoutSeconds: 180 });
    expect(created.status).toBe(201);
    for (let i = 0; i < 600; i++) {
      const detail = (await request(server).get(`${entityPath}/restores/${created.body.id}`)).body;
      if (detail.volumes?.some((v: { phase: string }) => v.phase === 'Transferring')) break;
      await sleep(100);
    }
    await stopBackend();
    const replacement = await startFerryBackend({ sandbox, repositoryDir });
    server = replacement.server;
    stopBackend = () => replacement.stop();
    // The new replica's database is empty: it indexes the Restore once its watch has listed it.
    for (let i = 0; i < 100; i++) {
      if ((await request(server).get(`${entityPath}/restores/${created.body.id}`)).status === 200) break;
      await sleep(200);
    }
    const restore = await waitFor('restores', created.body.id);
    expect(restore.failures).toEqual([]);
    expect(restore.phase).toBe('Completed');
    expect(restore.timeline.map((t: { message: string }) => t.message).join('\n')).toMatch(/Resumed by/);
    await expectDemoState(sandbox, demo, 'demo-resume', states[0]);
    await expectRealContainers(sandbox, demo, 'demo-resume');
  });
});
