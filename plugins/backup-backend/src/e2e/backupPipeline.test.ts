import { BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { binaryPath, DemoApp, execInPod, installDemoApp, Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitForOperation } from './__testUtils__/waitForOperation';
import request from 'supertest';
import { captureDemoState, changeDemoData, demoClaims, DemoState, rawClaims } from './__testUtils__/demoState';
import { expectCleanExt4, ext4File, hydratedBytes, storedImagePath, withHydrated } from './__testUtils__/qemuChain';
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
/** Every claim of the demo app (data, wal: ext4 of PostgreSQL; raw: Block, the test's bytes). */
let claims: string[];
/** The Filesystem claims and, in the db container, where each is mounted. */
const mounts: Record<string, string> = { data: '/var/lib/postgresql/data', wal: '/var/lib/postgresql/wal' };

/**
 * Writes a file of random content into each Filesystem claim through its mount in the running
 * db container (`ferry-check/state` beside PostgreSQL's files): what a backup taken now must hold
 * in its copy of that ext4 volume. Returns claim → content.
 */
async function writeCheckFiles(): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  for (const pod of demo.dbPods) {
    for (const [volume, mount] of Object.entries(mounts)) {
      const content = randomBytes(48).toString('base64');
      const result = await execInPod(sandbox.kubeConfig, {
        namespace: 'demo',
        pod,
        container: 'db',
        command: ['/bin/sh', '-c', `mkdir -p ${mount}/ferry-check && cat > ${mount}/ferry-check/state`],
        stdin: content,
      });
      expect(result.exitCode).toBe(0);
      written.set(`${volume}-${pod}`, content);
    }
  }
  return written;
}

/** Waits for a backup of the API to finish; returns its detail. */
const waitForBackup = (id: string) => waitForOperation({ server, kind: 'backups', id });

/** Keeps the timeline as a test artifact: test-results/backup-timeline-<kind>.json. */
async function saveTimeline(kind: string, timeline: unknown) {
  const dir = path.join(repoRoot, 'test-results');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, `backup-timeline-${kind}.json`), JSON.stringify(timeline, null, 2));
}

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  // The chart's own hooks off: a test below sets the Backup's hooks and expects exactly those.
  demo = await installDemoApp(sandbox, { set: { 'db.backupHooks': 'false' } });
  claims = await demoClaims(sandbox);
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
  /** Per backup: the rows and raw bytes, and the check files written into the ext4 claims. */
  const states: DemoState[] = [];
  const checkFiles: Array<Map<string, string>> = [];
  const ids: string[] = [];

  it('takes a full backup', async () => {
    expect(claims).toEqual(['data', 'raw', 'wal'].flatMap(c => demo.dbPods.map(pod => `${c}-${pod}`)).sort());
    checkFiles.push(await writeCheckFiles());
    states.push(await captureDemoState(sandbox, demo));
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
    await changeDemoData(sandbox, demo, { rows: 200, rawBytes: 200 * 1024 });
    checkFiles.push(await writeCheckFiles());
    states.push(await captureDemoState(sandbox, demo));
    const created = await request(server).post(`${entityPath}/backups`).send({ type: 'auto' });
    expect(created.status).toBe(201);
    const backup = await waitForBackup(created.body.id);
    expect(backup.phase).toBe('Completed');
    expect(backup.kind).toBe('incremental');
    for (const volume of backup.volumes) {
      expect(volume.type).toBe('incremental');
      expect(volume.chain).toEqual([ids[0], backup.id]);
    }
    const stored = Object.fromEntries(backup.volumes.map((v: { pvc: string; storedBytes: number }) => [v.pvc, v.storedBytes]));
    for (const claim of rawClaims(demo)) {
      // ~200 KiB changed in a raw volume: the overlay holds a few 64 KiB clusters, not the volume.
      expect({ claim, small: stored[claim] < 2 * 1024 * 1024 }).toEqual({ claim, small: true });
    }
    // PostgreSQL's ext4 volumes changed by what 200 rows, a check file and the file system's
    // journal wrote: an overlay of those clusters, far from a copy of the volume.
    const chartSizes: Record<string, number> = { data: 64 * 1024 * 1024, wal: 16 * 1024 * 1024 };
    for (const claim of claims.filter(c => !c.startsWith('raw-'))) {
      const size = chartSizes[claim.split('-')[0]];
      expect({ claim, small: stored[claim] < size / 4 }).toEqual({ claim, small: true });
    }
    // eslint-disable-next-line no-console
    console.log(`Incremental overlays (bytes stored): ${JSON.stringify(stored)}`);
    ids.push(backup.id);
    await saveTimeline('incremental', backup.timeline);
  });

  it('stored a full image and an overlay per volume that hydrate to what each backup must hold', async () => {
    const [full, incremental] = ids;
    for (const claim of claims) {
      const info = await run('qemu-img', ['info', '--backing-chain', storedImagePath({ repositoryDir, app: appId, pvc: claim, backupId: incremental })]);
      expect(info.stdout).toContain(`backing file: ${full}.qcow2`);
    }
    // Raw Block claims: byte for byte the volume at each backup.
    for (const claim of rawClaims(demo)) {
      for (const [i, backupId] of ids.entries()) {
        const bytes = await hydratedBytes({ repositoryDir, app: appId, pvc: claim, backupId });
        expect({ claim, backupId, equal: bytes.equals(states[i].raw.get(claim)!) }).toEqual({ claim, backupId, equal: true });
      }
    }
    // ext4 claims (PostgreSQL's, changing all the time): each hydrated chain is a clean file
    // system (the snapshot was taken frozen) holding the file written just before that backup,
    // and PostgreSQL's own files.
    for (const claim of claims.filter(c => !c.startsWith('raw-'))) {
      for (const [i, backupId] of ids.entries()) {
        await withHydrated({ repositoryDir, app: appId, pvc: claim, backupId }, async image => {
          await expectCleanExt4(image);
          // PostgreSQL's data claims hold its files (its version file), the WAL archive's do not
          const pgData = claim.startsWith('data-');
          const pgVersion = pgData ? (await ext4File(image, '/pgdata/PG_VERSION'))?.trim() : 'not a data claim';
          expect({ claim, backupId, check: await ext4File(image, '/ferry-check/state'), pgVersion }).toEqual({
            claim,
            backupId,
            check: checkFiles[i].get(claim),
            pgVersion: pgData ? '15' : 'not a data claim',
          });
        });
      }
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
      // 2 × 64 MiB data, 2 × 16 MiB wal, 2 × 16 MiB raw.
      expect(response.body.items[0].logicalBytes).toBe(192 * 1024 * 1024);
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

  it('runs a Backup applied with kubectl, and kubectl shows its phase and progress', async () => {
    const manifest = path.join(repositoryDir, 'backup.yaml');
    // Its own hooks too (the test below checks them): a full backup serves both.
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
        '  hooks:',
        '    mode: Parallel',
        "    pre: [{podSelector: 'app.kubernetes.io/component=db', command: [sh, -c, echo quiesced]}]",
        "    post: [{podSelector: 'app.kubernetes.io/component=db', command: [sh, -c, echo resumed]}]",
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
    expect(table).toMatch(/nightly-by-hand\s+Completed\s+Full\s+6\/6 volumes, 100%\s+local/);
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
    // The Backup applied with kubectl above carries hooks in its spec, run in the db containers.
    const ok = await finished('nightly-by-hand');
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
});
