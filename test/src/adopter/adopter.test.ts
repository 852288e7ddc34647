import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CoreV1Api } from '@kubernetes/client-node';
import { createTarget, Repository, S3Target, verifyRepository } from '@ferry/repository';
import { binaryPath, DemoApp, DemoTableState, installDemoApp, Sandbox, startSandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
// The backend plugin's PostgreSQL helper (Debian's server on 127.0.0.1), shared rather than copied.
// eslint-disable-next-line @backstage/no-forbidden-package-imports, @backstage/no-mixed-plugin-imports
import { startLocalPostgres, type LocalPostgres } from '@ferry/plugin-backup-backend/src/database/__testUtils__/localPostgres';
import type { Managed } from '../support/processes';
import { repoRoot } from '../support/repoRoot';
import {
  adopterBaseEnv,
  createApp,
  CREATE_APP_VERSION,
  keepPrebuilds,
  pinSignalsBackend,
  yarnCacheEntries,
  yarnGlobalFolder,
} from './adopterApp';
import { api, freePort, guestSignIn, Identity, startAdopterBackend, waitForOperation, writeLocalConfig } from './adopterBackend';
import { applyFileBlock } from './applyBlock';
import { ensurePacks, packedFiles } from './packs';
import { ReadmeBlock, readSection } from './readmeSection';
import { Env, runBash, runChecks } from './shellBlocks';

/*
 * The adopter test (issue 21 part 7): what a platform team does to add Ferry to its Backstage,
 * literally. A fresh app from a pinned @backstage/create-app, the packed tarballs (not workspace
 * links), every code block of the README's "Install into your Backstage" applied as its HTML
 * comment says (a wrong instruction fails here), `yarn tsc` and the builds, the chart installed
 * with helm into a real-node sandbox, the app's own backend started on PostgreSQL against it, and
 * the demo app (PostgreSQL in real containers) backed up and restored through that backend's API
 * by a user whom the README's permission policy treats as the component's owner. Needs root (the
 * real node), as CI runs. Logs: test-results/adopter/. FERRY_ADOPTER_KEEP=1 keeps the app folder.
 */

jest.setTimeout(1_800_000);

const run = promisify(execFile);
const logDir = join(repoRoot, 'test-results/adopter');
const stepsLog = join(logDir, 'steps.log');
const shop = '/api/backup/entities/component/default/shop';
const bucket = 'ferry-adopter';

const timings: string[] = [];
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await step();
  } finally {
    timings.push(`${what}: ${seconds(started)}`);
  }
}

let blocks: ReadmeBlock[];
let workDir: string;
let appDir: string;
let env: Env;
let sandbox: Sandbox | undefined;
let sandboxReady: Promise<{ sandbox: Sandbox; demo: DemoApp }> | undefined;
let demo: DemoApp;
let postgres: LocalPostgres | undefined;
let backend: (Managed & { url: string }) | undefined;
let user: Identity;
let backupId: string;
const backedUp = new Map<string, DemoTableState>();
const testStarted = Date.now();

/** The app's yarn (the Yarn 4 create-app ships in .yarn/releases) with the adopter's environment. */
const yarn = (name: string, args: string[]) =>
  runBash({ name, script: `yarn ${args.join(' ')}`, cwd: appDir, env, log: stepsLog });

/** The sandbox's S3 server as Ferry's repository package reaches it (the test's own look at the target). */
const s3Target = (sb: Sandbox) =>
  createTarget({
    type: 's3',
    bucket,
    endpoint: sb.s3!.endpoint,
    region: sb.s3!.region,
    forcePathStyle: true,
    accessKeyId: sb.s3!.accessKeyId,
    secretAccessKey: sb.s3!.secretAccessKey,
  }) as S3Target;

const blocksOf = (type: ReadmeBlock['action']['type']) => blocks.filter(b => b.action.type === type);

beforeAll(async () => {
  await mkdir(logDir, { recursive: true });
  await rm(stepsLog, { force: true });
  blocks = readSection(await readFile(join(repoRoot, 'README.md'), 'utf8'));
  workDir = await mkdtemp(join(tmpdir(), 'ferry-adopter-'));
  appDir = join(workDir, 'app');
});

afterAll(async () => {
  timings.push(`total: ${seconds(testStarted)}`);
  // eslint-disable-next-line no-console
  console.log(`Adopter test timings (create-app ${CREATE_APP_VERSION}):\n  ${timings.join('\n  ')}`);
  await backend?.stop();
  // A sandbox still starting when a step failed is stopped once it is up.
  if (!sandbox && sandboxReady) await sandboxReady.catch(() => undefined);
  await sandbox?.stop();
  await postgres?.stop();
  if (workDir && process.env.FERRY_ADOPTER_KEEP !== '1') await rm(workDir, { recursive: true, force: true });
});

describe('an adopter installs Ferry into a new Backstage app, as the README says', () => {
  it('makes the app with create-app, installs it and applies every block of the README section', async () => {
    env = {
      ...(await adopterBaseEnv([dirname(binaryPath('kubectl')), dirname(binaryPath('helm'))])),
      FERRY: repoRoot,
    };

    // The sandbox (real node, registry with the datamover and demo images) and the demo app
    // start meanwhile: they are the adopter's cluster.
    sandboxReady = timed('sandbox with the real node and the demo app (alongside the app install)', async () => {
      const started = await startSandbox({ ephemeral: true, node: 'real', registry: true });
      sandbox = started;
      return { sandbox: started, demo: await installDemoApp(started, { rows: 200 }) };
    });
    sandboxReady.catch(() => undefined); // awaited below; a failure surfaces there

    // Step 1: the tarballs and the chart, packed again only when their inputs changed.
    const [pack] = blocksOf('pack');
    expect(pack.code.replace(/#.*$/gm, '').trim()).toBe('npm run pack:plugins');
    const { packed } = await timed('README step 1, npm run pack:plugins (or its output reused)', () =>
      ensurePacks({ code: pack.code, env, log: stepsLog }),
    );
    timings.push(`  (${packed ? 'packed' : 'reused .ferry/packs: inputs unchanged'})`);
    // What the block's comment promises: six package tarballs and the chart.
    expect(await packedFiles()).toEqual(
      ['datamover', 'plugin-backup', 'plugin-backup-backend', 'plugin-backup-common', 'qcow2', 'repository']
        .map(p => `ferry-${p}-0.1.0.tgz`)
        .concat('ferry-0.1.0.tgz')
        .sort(),
    );

    await timed('create-app --skip-install', () => createApp({ dir: appDir, env, log: stepsLog }));
    const fix = await pinSignalsBackend(appDir);
    timings.push(`  (test set-up fix before the install: ${fix})`);
    const cached = yarnCacheEntries();
    await timed(`yarn install (Yarn cache ${cached ? `warm, ${cached} archives` : 'cold'} in ${yarnGlobalFolder()})`, () =>
      yarn('yarn install', ['install']),
    );
    for (const note of await keepPrebuilds(appDir)) timings.push(`  (${note})`);

    const cluster = await sandboxReady;
    demo = cluster.demo;
    const sb = cluster.sandbox;
    const s3 = sb.s3!;
    // What the README leaves to the adopter: the datamover image where the cluster pulls from
    // (step 6, skipped: the sandbox registry holds the same image), the cluster's kubeconfig and
    // an S3 bucket with its settings.
    await s3Target(sb).client.send(new CreateBucketCommand({ Bucket: bucket }));
    Object.assign(env, {
      KUBECONFIG: sb.kubeconfigPath,
      HELM_CACHE_HOME: join(sb.dataDir, 'helm/cache'),
      HELM_CONFIG_HOME: join(sb.dataDir, 'helm/config'),
      HELM_DATA_HOME: join(sb.dataDir, 'helm/data'),
      FERRY_DATAMOVER_IMAGE: sb.images!.datamover,
      FERRY_S3_BUCKET: bucket,
      FERRY_S3_ENDPOINT: s3.endpoint,
      FERRY_S3_REGION: s3.region,
      FERRY_S3_ACCESS_KEY_ID: s3.accessKeyId,
      FERRY_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });

    const applied: string[] = [];
    const cwd = appDir;
    for (const block of blocks) {
      const name = `README line ${block.line} (${block.marker})`;
      const { action } = block;
      if (action.type === 'pack' || action.type === 'check') continue; // done above / once the backend runs
      if (action.type === 'skip') {
        await appendFile(stepsLog, `\n# ${name}: not run\n`);
        applied.push(`skipped: ${action.reason}`);
        continue;
      }
      if (action.type === 'run') {
        const before = env;
        env = await timed(name, () => runBash({ name, script: block.code, cwd, env: before, log: stepsLog }));
        applied.push(`ran the block at line ${block.line}`);
        continue;
      }
      applied.push(`${action.type} ${await applyFileBlock(appDir, block)}`);
    }
    await appendFile(stepsLog, `\nApplied:\n${applied.join('\n')}\n`);

    // Step 2 installed the tarballs, not anything from a registry or a workspace link.
    const lock = await readFile(join(appDir, 'yarn.lock'), 'utf8');
    for (const name of ['plugin-backup', 'plugin-backup-backend', 'plugin-backup-common', 'repository', 'qcow2', 'datamover']) {
      expect(lock).toContain(`"@ferry/${name}@file:./ferry/ferry-${name}-0.1.0.tgz::locator=root%40workspace%3A."`);
    }
    expect(lock).not.toMatch(/"@ferry\/[^"]*@npm:/);
    // Step 7's helm install put the chart's release into the cluster.
    expect(env.FERRY_CLUSTER_TOKEN).toMatch(/^eyJ/);
  });

  it('type-checks and builds the app: yarn tsc, the backend bundle with the frontend, Ferry in it', async () => {
    await timed('yarn tsc', () => yarn('yarn tsc', ['tsc']));
    // create-app's backend bundles the frontend (packages/app is a "bundled" dependency of it):
    // build:backend builds both.
    await timed('yarn build:backend (the backend bundle and the frontend)', () => yarn('yarn build:backend', ['build:backend']));
    expect(existsSync(join(appDir, 'packages/backend/dist/bundle.tar.gz'))).toBe(true);
    // Ferry's frontend plugin is in the bundle (App.tsx lists it as step 3 shows).
    const staticDir = join(appDir, 'packages/app/dist/static');
    const chunks = (await readdir(staticDir)).filter(f => f.endsWith('.js'));
    const withFerry = [];
    for (const chunk of chunks) {
      if ((await readFile(join(staticDir, chunk), 'utf8')).includes('ferry.io/helm-release')) withFerry.push(chunk);
    }
    expect(withFerry.length).toBeGreaterThan(0);
  });

  it("starts the app's backend on PostgreSQL against the cluster; the README's checks answer as it says", async () => {
    postgres = await timed('PostgreSQL (local, for the backend)', () => startLocalPostgres());
    const port = await freePort();
    await writeLocalConfig({ appDir, port, databaseUrl: postgres.connectionString, insecureRegistry: sandbox!.registry!.host });
    // The demo app's component, annotated as "Enabling backups for a component" says, owned by
    // create-app's example group `guests`, in the app's example catalog file.
    await appendFile(
      join(appDir, 'examples/entities.yaml'),
      [
        '---',
        'apiVersion: backstage.io/v1alpha1',
        'kind: Component',
        'metadata:',
        '  name: shop',
        '  annotations:',
        '    ferry.io/helm-release: demo',
        '    ferry.io/namespace: demo',
        '    ferry.io/cluster: production',
        'spec:',
        '  type: service',
        '  lifecycle: production',
        '  owner: guests',
        '',
      ].join('\n'),
    );
    backend = await timed('backend start (yarn workspace backend start) until /api/backup/health', () =>
      startAdopterBackend({ appDir, env, port, logDir }),
    );

    const [check] = blocksOf('check');
    const mismatches = await timed('README step 9 checks', () =>
      runChecks({ name: `README line ${check.line} (check)`, code: check.code.replaceAll('localhost:7007', `localhost:${port}`), cwd: appDir, env, log: stepsLog }),
    );
    expect(mismatches).toEqual([]);
  });

  it('backs up the demo app through the backend as its owner: Completed, every volume on the S3 target', async () => {
    const { url } = backend!;
    // The catalog has read create-app's example org (guest is in `guests`) and the component.
    const deadline = Date.now() + 120_000;
    for (;;) {
      user = await guestSignIn(url);
      const entity = await api(url, user.token, 'GET', '/api/catalog/entities/by-name/component/default/shop');
      if (user.ownershipEntityRefs.includes('group:default/guests') && entity.status === 200) break;
      if (Date.now() > deadline) throw new Error(`the catalog did not have the guest's group or the shop component in time: ${JSON.stringify(user.ownershipEntityRefs)}, ${entity.status}`);
      await new Promise(resolve => setTimeout(resolve, 2000));
    }
    expect(user.userEntityRef).toBe('user:default/guest');

    for (const pod of demo.dbPods) backedUp.set(pod, await demo.database!.tableState({ pod }));
    const created = await api(url, user.token, 'POST', `${shop}/backups`, { type: 'full' });
    expect(created.status).toBe(201);
    const backup = await timed('backup through the API (full, 2 PostgreSQL replicas)', () =>
      waitForOperation({ url, token: user.token, path: `${shop}/backups/${created.body.id}`, timeoutMs: 600_000 }),
    );
    expect(backup.failures).toEqual([]);
    expect(backup.phase).toBe('Completed');
    backupId = backup.id;
    const claims = ['data', 'raw', 'wal'].flatMap(claim => demo.dbPods.map(pod => `${claim}-${pod}`)).sort();
    expect(backup.volumes.map((v: { pvc: string; phase: string }) => `${v.pvc}:${v.phase}`).sort()).toEqual(claims.map(c => `${c}:Completed`));

    // On the target: the committed backup with an image per claim, every byte matching its digests.
    const repo = await Repository.open(s3Target(sandbox!));
    const apps = await repo.listApps();
    expect(apps).toHaveLength(1);
    expect(await repo.listBackups(apps[0])).toEqual([backupId]);
    const manifest = await repo.readManifest(apps[0], backupId);
    expect(manifest.volumes.map(v => v.pvc).sort()).toEqual(claims);
    const report = await verifyRepository(repo, { app: apps[0] });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('restores it after the namespace is deleted: PostgreSQL returns exactly the backed-up rows; the policy keeps the owner in its namespace', async () => {
    const { url } = backend!;
    // Rows written after the backup are not in it.
    await demo.database!.addRows({ count: 7 });

    // The README's policy: an owner restores into the component's own namespace only.
    const elsewhere = await api(url, user.token, 'POST', `${shop}/restores`, { backupId, namespace: 'demo-copy' });
    expect(elsewhere.status).toBe(403);
    expect(JSON.stringify(elsewhere.body)).toContain('backup.restore.anywhere');

    const core = sandbox!.kubeConfig.makeApiClient(CoreV1Api);
    await core.deleteNamespace({ name: 'demo' });
    for (let i = 0; (await core.listNamespace()).items.some(n => n.metadata?.name === 'demo'); i++) {
      if (i > 240) throw new Error('namespace demo was not deleted within 240 s');
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    const created = await api(url, user.token, 'POST', `${shop}/restores`, { backupId, namespace: 'demo', readyTimeoutSeconds: 300 });
    expect(created.status).toBe(201);
    const restore = await timed('restore through the API (namespace deleted first)', () =>
      waitForOperation({ url, token: user.token, path: `${shop}/restores/${created.body.id}`, timeoutMs: 600_000 }),
    );
    expect(restore.failures).toEqual([]);
    expect(restore.phase).toBe('Completed');
    for (const [pod, state] of backedUp) {
      expect(await demo.database!.tableState({ namespace: 'demo', pod })).toEqual(state);
    }
  });

  it('kept its own state in PostgreSQL', async () => {
    const { stdout } = await run(`/usr/lib/postgresql/${postgres!.major}/bin/psql`, [
      postgres!.connectionString,
      '-Atc',
      'SELECT datname FROM pg_database ORDER BY 1',
    ]);
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['backstage_plugin_backup', 'backstage_plugin_catalog', 'backstage_plugin_auth']));
  });
});
