import { BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { binaryPath, installDemoApp, Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitForOperation } from './__testUtils__/waitForOperation';
import request from 'supertest';
import { startE2eSandbox, startFerryBackend } from './__testUtils__/sandboxBackend';

const run = promisify(execFile);
jest.setTimeout(600_000);

const repoRoot = path.resolve(__dirname, '../../../..');
const entityPath = '/api/backup/entities/component/default/shop';
const appId = 'component.default.shop';

let sandbox: Sandbox;
let repositoryDir: string;
let server: Awaited<ReturnType<typeof startFerryBackend>>['server'];
let stopBackend: () => Promise<void>;
let claims: string[];

async function readClaim(claim: string): Promise<Buffer> {
  return fs.readFile(await sandbox.claimVolumePath({ namespace: 'demo', claim }));
}

/** Waits for a backup of the API to finish; returns its detail. */
const waitForBackup = (id: string) => waitForOperation({ server, kind: 'backups', id });

/** Keeps the timeline as a test artifact: test-results/backup-timeline-<kind>.json. */
async function saveTimeline(kind: string, timeline: unknown) {
  const dir = path.join(repoRoot, 'test-results');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, `backup-timeline-${kind}.json`), JSON.stringify(timeline, null, 2));
}

/** The chain of a volume hydrated by qemu-img (the oracle) straight from the filesystem target. */
async function hydrateWithQemu(pvc: string, backupId: string): Promise<Buffer> {
  const image = path.join(repositoryDir, 'apps', appId, 'volumes', pvc, `${backupId}.qcow2`);
  const out = path.join(repositoryDir, `${pvc}-${backupId}.raw`);
  await run('qemu-img', ['convert', '-O', 'raw', image, out]);
  const bytes = await fs.readFile(out);
  await fs.rm(out);
  return bytes;
}

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  const demo = await installDemoApp(sandbox);
  claims = [...demo.written.keys()].sort();
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-repo-'));
  const backend = await startFerryBackend({ sandbox, repositoryDir });
  server = backend.server;
  stopBackend = () => backend.stop();
});

afterAll(async () => {
  await stopBackend?.();
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('backup of the demo Helm app on the sandbox, through the API', () => {
  const states: Array<Map<string, Buffer>> = [];
  const ids: string[] = [];

  it('takes a full backup', async () => {
    states.push(new Map(await Promise.all(claims.map(async c => [c, await readClaim(c)] as const))));
    const created = await request(server).post(`${entityPath}/backups`).send({});
    expect(created.status).toBe(201);
    expect(created.body.phase).toBe('Pending');
    const backup = await waitForBackup(created.body.id);
    expect(backup.failures).toEqual([]);
    expect(backup.phase).toBe('Completed');
    expect(backup.kind).toBe('full');
    expect(backup.volumes.map((v: { pvc: string }) => v.pvc).sort()).toEqual(claims);
    expect(backup.timeline.map((t: { step: string }) => t.step)).toEqual(
      expect.arrayContaining(['Start', 'Plan', 'Metadata', 'Commit', 'Completed']),
    );
    ids.push(backup.id);
    await saveTimeline('full', backup.timeline);
  });

  it('takes an incremental backup after the data changed', async () => {
    for (const [index, claim] of claims.entries()) {
      await sandbox.writeVolume({
        namespace: 'demo',
        claim,
        offset: (index + 1) * 1024 * 1024 + 4096,
        data: randomBytes(200 * 1024),
      });
    }
    states.push(new Map(await Promise.all(claims.map(async c => [c, await readClaim(c)] as const))));
    const created = await request(server).post(`${entityPath}/backups`).send({ type: 'auto' });
    expect(created.status).toBe(201);
    const backup = await waitForBackup(created.body.id);
    expect(backup.phase).toBe('Completed');
    expect(backup.kind).toBe('incremental');
    for (const volume of backup.volumes) {
      expect(volume.type).toBe('incremental');
      expect(volume.chain).toEqual([ids[0], backup.id]);
      // ~200 KiB changed per volume: the overlay holds a few 64 KiB clusters, not the volume.
      expect(volume.storedBytes).toBeLessThan(2 * 1024 * 1024);
    }
    ids.push(backup.id);
    await saveTimeline('incremental', backup.timeline);
  });

  it('stored a full image and an overlay per volume that hydrate to the bytes at each backup', async () => {
    for (const claim of claims) {
      const [full, incremental] = ids;
      const info = await run('qemu-img', [
        'info',
        '--backing-chain',
        path.join(repositoryDir, 'apps', appId, 'volumes', claim, `${incremental}.qcow2`),
      ]);
      expect(info.stdout).toContain(`backing file: ${full}.qcow2`);
      expect((await hydrateWithQemu(claim, full)).equals(states[0].get(claim)!)).toBe(true);
      expect((await hydrateWithQemu(claim, incremental)).equals(states[1].get(claim)!)).toBe(true);
    }
  });

  it('stored the metadata YAML of every resource, Helm release records included', async () => {
    const resources = path.join(repositoryDir, 'apps', appId, 'backups', ids[0], 'resources');
    const files = await fs.readdir(resources, { recursive: true });
    expect(files).toEqual(
      expect.arrayContaining([
        path.join('apps', 'Deployment', 'demo-web.yaml'),
        path.join('apps', 'StatefulSet', 'demo-db.yaml'),
        path.join('core', 'Service', 'demo-web.yaml'),
        path.join('core', 'ConfigMap', 'demo-config.yaml'),
        path.join('core', 'Secret', 'sh.helm.release.v1.demo.v1.yaml'),
      ]),
    );
    const statefulSet = await fs.readFile(path.join(resources, 'apps', 'StatefulSet', 'demo-db.yaml'), 'utf8');
    expect(statefulSet).toContain('volumeClaimTemplates');
    expect(statefulSet).not.toMatch(/resourceVersion|uid:|managedFields|\nstatus:/);
  });

  it('rebuilds the list of backups from the target alone, with an empty database', async () => {
    const recovered = await startFerryBackend({ sandbox, repositoryDir, withCluster: false });
    try {
      const response = await request(recovered.server).get(`${entityPath}/backups`);
      expect(response.status).toBe(200);
      expect(
        response.body.items.map((b: { id: string; kind: string; phase: string }) => [b.id, b.kind, b.phase]),
      ).toEqual([
        [ids[1], 'incremental', 'Completed'],
        [ids[0], 'full', 'Completed'],
      ]);
      expect(response.body.items[0].storedBytes).toBeGreaterThan(0);
      expect(response.body.items[0].logicalBytes).toBe(160 * 1024 * 1024);
    } finally {
      await recovered.stop();
    }
  });

  it('left no VolumeSnapshot, temporary claim, Job or pod behind', async () => {
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const batch = sandbox.kubeConfig.makeApiClient(BatchV1Api);
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    const selector = { namespace: 'demo', labelSelector: 'app.kubernetes.io/managed-by=ferry' };
    for (let i = 0; i < 30; i++) {
      const left = [
        ...(await core.listNamespacedPersistentVolumeClaim(selector)).items,
        ...(await batch.listNamespacedJob(selector)).items,
        ...(await core.listNamespacedPod(selector)).items,
        ...((await custom.listNamespacedCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          plural: 'volumesnapshots',
          ...selector,
        })) as { items: unknown[] }).items,
      ];
      if (left.length === 0) break;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    expect((await core.listNamespacedPersistentVolumeClaim(selector)).items).toEqual([]);
    expect((await batch.listNamespacedJob(selector)).items).toEqual([]);
    const snapshots = (await custom.listNamespacedCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      plural: 'volumesnapshots',
      namespace: 'demo',
    })) as { items: unknown[] };
    expect(snapshots.items).toEqual([]);
    expect((await core.listNamespacedPersistentVolumeClaim({ namespace: 'demo' })).items.map(c => c.metadata!.name).sort()).toEqual(claims);
  });

  it('runs pre-hooks before and post-hooks after the snapshots, and fails on a failing pre-hook', async () => {
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    const create = (name: string, pre: string) =>
      custom.createNamespacedCustomObject({
        group: 'ferry.io',
        version: 'v1alpha1',
        plural: 'backups',
        namespace: 'demo',
        body: {
          apiVersion: 'ferry.io/v1alpha1',
          kind: 'Backup',
          metadata: { name, namespace: 'demo' },
          spec: {
            application: { helmReleases: ['demo'] },
            target: 'local',
            hooks: {
              mode: 'Parallel',
              pre: [{ podSelector: 'app.kubernetes.io/component=db', command: ['sh', '-c', pre] }],
              post: [{ podSelector: 'app.kubernetes.io/component=db', command: ['sh', '-c', 'echo resumed'] }],
            },
          },
        },
      });
    const finished = async (name: string) => {
      for (let i = 0; i < 300; i++) {
        const backup = (await custom.getNamespacedCustomObject({
          group: 'ferry.io',
          version: 'v1alpha1',
          plural: 'backups',
          namespace: 'demo',
          name,
        })) as { status?: { phase?: string; message?: string; timeline?: Array<{ step: string }>; hooks?: unknown[] } };
        if (['Completed', 'PartiallyFailed', 'Failed'].includes(backup.status?.phase ?? '')) return backup.status!;
        await new Promise(resolve => setTimeout(resolve, 500));
      }
      throw new Error(`${name} did not finish`);
    };
    await create('with-hooks', 'echo quiesced');
    const ok = await finished('with-hooks');
    expect(ok.phase).toBe('Completed');
    const steps = ok.timeline!.map(t => t.step);
    expect(steps.indexOf('Pre-hooks')).toBeLessThan(steps.indexOf('Snapshots'));
    expect(steps.indexOf('Snapshots')).toBeLessThan(steps.indexOf('Post-hooks'));
    const spec = (pod: string, stage: string, word: string) =>
      expect.objectContaining({
        name: `${pod}/db: sh -c echo ${word}`,
        stage,
        source: 'spec',
        pod,
        container: 'db',
        command: ['sh', '-c', `echo ${word}`],
        outcome: 'Succeeded',
        exitCode: 0,
        stdout: word,
      });
    expect(ok.hooks).toEqual([
      spec('demo-db-0', 'pre', 'quiesced'),
      spec('demo-db-1', 'pre', 'quiesced'),
      spec('demo-db-0', 'post', 'resumed'),
      spec('demo-db-1', 'post', 'resumed'),
    ]);
    await create('failing-hook', 'echo cannot freeze >&2; exit 3');
    const failed = await finished('failing-hook');
    expect(failed.phase).toBe('Failed');
    expect(failed.message).toMatch(/a pre-hook failed, no snapshot was taken: exit code 3: cannot freeze/);
    // Post-hooks run even after a failure (the application must not stay quiesced).
    expect(failed.hooks).toEqual(expect.arrayContaining([expect.objectContaining({ stage: 'post', outcome: 'Succeeded' })]));
  });

  it('runs a Backup applied with kubectl, and kubectl shows its phase and progress', async () => {
    const manifest = path.join(repositoryDir, 'backup.yaml');
    await fs.writeFile(
      manifest,
      [
        'apiVersion: ferry.io/v1alpha1',
        'kind: Backup',
        'metadata: {name: nightly-by-hand, namespace: demo}',
        'spec:',
        '  application: {helmReleases: [demo]}',
        '  target: local',
        '  type: Full',
      ].join('\n'),
    );
    const kubectl = (...args: string[]) =>
      run(binaryPath('kubectl'), ['--kubeconfig', sandbox.kubeconfigPath, ...args]);
    await kubectl('apply', '-f', manifest);
    let table = '';
    for (let i = 0; i < 300; i++) {
      table = (await kubectl('get', 'backups', '-n', 'demo', 'nightly-by-hand')).stdout;
      if (/Completed|Failed/.test(table)) break;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    expect(table).toMatch(/NAME\s+PHASE\s+TYPE\s+PROGRESS\s+TARGET\s+AGE/);
    expect(table).toMatch(/nightly-by-hand\s+Completed\s+Full\s+4\/4 volumes, 100%\s+local/);
  });
});
