import { coreServices, createBackendPlugin, type SchedulerService } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import type { JsonObject } from '@backstage/types';
import { CoreV1Api } from '@kubernetes/client-node';
import type { BackupDetail } from '@ferry/plugin-backup-common';
import { Keyring, RepositoryKey, Repository, S3Target, keyIdOf, layout, verifyRepository } from '@ferry/repository';
import { BucketAccess } from '@ferry/repository/src/testing/bucketAccess';
import { DemoApp, DemoTableState, installDemoApp, Sandbox, startS3Server } from '@ferry/sandbox';

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { backupPlugin } from '../plugin';
import { demoEntity, realNodeFerryConfig, sandboxClusterConfig, startE2eSandbox } from './__testUtils__/sandboxBackend';
import { shopPath, waitForOperation } from './__testUtils__/waitForOperation';

/*
 * Issue 20 on the sandbox's real node: the demo app (PostgreSQL in real containers, raw Block
 * claims) backed up through the API to an S3 target (versitygw, versioned bucket created with
 * Object Lock) that is encrypted with a key from a Kubernetes Secret and locked in governance
 * mode; a second entity's policy compresses its backups on a filesystem target. Restores are
 * checked rows-exact and byte-exact; qemu-img opens the stored LUKS images with the Secret's key.
 */

jest.setTimeout(1_500_000);

const run = promisify(execFile);
const appId = 'component.default.shop';
const KEY1 = randomBytes(32).toString('base64');
const KEY2 = randomBytes(32).toString('base64');
const WRONG = randomBytes(32).toString('base64');
const id1 = keyIdOf(Buffer.from(KEY1));
const id2 = keyIdOf(Buffer.from(KEY2));
const PREFIX = 'ferry';
const labPath = '/api/backup/entities/component/default/shop-lab';

const lab: Entity = {
  ...demoEntity,
  metadata: { ...demoEntity.metadata, name: 'shop-lab' },
  spec: { ...demoEntity.spec, lifecycle: 'experimental' },
};

let sandbox: Sandbox;
let demo: DemoApp;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let bucketAccess: BucketAccess;
let bucket: string;
let core: CoreV1Api;
let localDir: string;
let scratch: string;
let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;
let scheduler: SchedulerService | undefined;

const schedulerProbe = createBackendPlugin({
  pluginId: 'schedule-probe',
  register(env) {
    env.registerInit({
      deps: { scheduler: coreServices.scheduler },
      async init(deps) {
        scheduler = deps.scheduler;
      },
    });
  },
});

const vault = () => ({
  name: 'vault',
  type: 's3',
  bucket,
  prefix: PREFIX,
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  encryption: { secret: { name: 'backup-key' } },
  objectLock: { mode: 'governance', days: 1 },
});

async function startBackend() {
  await backend?.stop();
  backend = await startTestBackend({
    features: [
      backupPlugin,
      schedulerProbe,
      mockServices.scheduler.factory({ skipTaskRunOnStartup: true }),
      catalogServiceMock.factory({ entities: [demoEntity, lab] }),
      mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
      mockServices.rootLogger.factory({ level: (process.env.FERRY_TEST_LOG as 'info' | undefined) ?? 'warn' }),
      mockServices.rootConfig.factory({
        data: {
          kubernetes: (await sandboxClusterConfig(sandbox)) as JsonObject,
          ferry: {
            ...realNodeFerryConfig(sandbox),
            targets: [vault(), { name: 'local', type: 'filesystem', path: localDir }],
            defaultTarget: 'vault',
            policies: [
              { name: 'vaulted', target: 'vault', schedule: '0 3 * * *', keepLast: 1, filter: { 'spec.lifecycle': 'production' } },
              { name: 'squeezed', target: 'local', compression: 'zstd', filter: { 'spec.lifecycle': 'experimental' } },
            ],
            datamover: { ...(realNodeFerryConfig(sandbox).datamover as object), parallelism: 2 },
          } as JsonObject,
        },
      }),
    ],
  });
  return backend.server;
}

async function putKeySecret(data: Record<string, string>) {
  const body = { metadata: { name: 'backup-key', namespace: 'ferry-system' }, type: 'Opaque', stringData: data };
  await core.deleteNamespacedSecret({ name: 'backup-key', namespace: 'ferry-system' }).catch(() => undefined);
  await core.createNamespacedSecret({ namespace: 'ferry-system', body });
}

/** Every object under the prefix: whole for apps/ (metadata, volumes), the first 64 bytes of the rest. */
async function rawObjects(): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const full of await bucketAccess.list(`${PREFIX}/`)) {
    const key = full.slice(PREFIX.length + 1);
    out.set(key, await bucketAccess.get(full, key.startsWith('apps/') ? undefined : 'bytes=0-63'));
  }
  return out;
}

async function backup(entityPath: string, body: object, server = backend!.server): Promise<BackupDetail> {
  const created = await request(server).post(`${entityPath}/backups`).send(body);
  expect(created.status).toBe(201);
  return waitForOperation({ server, kind: 'backups', id: created.body.id, entityPath, timeoutMs: 600_000 });
}

async function statesOf(namespace: string): Promise<Map<string, DemoTableState>> {
  const states = new Map<string, DemoTableState>();
  for (const pod of demo.dbPods) states.set(pod, await demo.database!.tableState({ namespace, pod }));
  return states;
}

const repository = (keys: string[]) =>
  Repository.open(
    new S3Target({
      bucket,
      prefix: PREFIX,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      objectLock: { mode: 'GOVERNANCE', days: 1 },
    }),
    { keys: new Keyring({ keys: keys.map((k, i) => RepositoryKey.from({ name: i === 0 ? 'key' : `old-${i}`, bytes: k })), current: 'key', source: 'test' }) },
  );

beforeAll(async () => {
  sandbox = await startE2eSandbox({ node: 'real' });
  demo = await installDemoApp(sandbox, { rows: 200 });
  core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  // A versioned S3 server (as AWS keeps Object Lock buckets) that the node's pods reach too.
  s3 = await startS3Server({ versioning: true, hostAddress: sandbox.hostAddress });
  bucket = `vault-${randomBytes(3).toString('hex')}`;
  bucketAccess = new BucketAccess(bucket, s3);
  await bucketAccess.create({ objectLock: true });
  await core.createNamespace({ body: { metadata: { name: 'ferry-system' } } }).catch(() => undefined);
  await putKeySecret({ key: KEY1 });
  localDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-protected-'));
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-protected-scratch-'));
  await startBackend();
}, 900_000);

afterAll(async () => {
  await backend?.stop();
  bucketAccess?.destroy();
  await s3?.stop();
  await sandbox?.stop();
  for (const dir of [localDir, scratch]) if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('encrypted, compressed and locked backups of the demo app on a real node', () => {
  let full: BackupDetail;
  let scheduled: BackupDetail[] = [];
  let backedUp: Map<string, DemoTableState>;

  it('stores an encrypted, locked full backup: everything sealed or LUKS, qemu-img opens the images with the Secret\'s key', async () => {
    full = await backup(shopPath, { type: 'full' });
    expect(full.failures).toEqual([]);
    expect(full).toMatchObject({ phase: 'Completed', kind: 'full', target: 'vault' });
    expect(full.protection).toEqual({ encryption: { keyId: id1 }, lock: { mode: 'governance', until: expect.any(String) } });
    expect(Math.abs(Date.parse(full.protection!.lock!.until) - (Date.now() + 86_400_000))).toBeLessThan(15 * 60_000);
    expect(full.deletion).toEqual({ allowed: false, reason: `it is locked (object lock, governance mode) until ${full.protection!.lock!.until}` });

    const raw = await rawObjects();
    // the application's lease is gone by the time the backup says it ended
    expect([...raw.keys()].filter(key => key.endsWith('/lock'))).toEqual([]);
    const written = [...demo.written.values()].flat().map(e => e.data.subarray(0, 256));
    expect(written.length).toBeGreaterThan(0);
    // everything but ferry.json, the lease and the LUKS images is sealed with the current key id,
    // and not a byte of what the raw claims hold is readable on the target
    const clear = (key: string) => ['ferry.json', 'ferry.encrypted.json'].includes(key) || key.endsWith('.qcow2');
    const seen = [...raw].map(([key, bytes]) => [
      key,
      bytes.subarray(0, 8).toString() === 'FERRYENV' ? bytes.subarray(12, 20).toString('hex') : 'clear',
      written.some(data => bytes.includes(data)),
    ]);
    expect(seen).toEqual([...raw.keys()].map(key => [key, clear(key) ? 'clear' : id1, false]));
    expect([...raw.keys()].filter(k => k.startsWith('images/blobs/')).length).toBeGreaterThan(0);

    // the standard tool: the raw claim's image is LUKS, opened with the Secret's bytes, equal to the claim
    const keyFile = path.join(scratch, 'key');
    await fs.writeFile(keyFile, KEY1);
    for (const claim of demo.written.keys()) {
      const image = path.join(scratch, `${claim}.qcow2`);
      await fs.writeFile(image, raw.get(layout.image(appId, claim, full.id))!);
      const opts = `driver=qcow2,file.filename=${image},encrypt.key-secret=k`;
      const info = JSON.parse((await run('qemu-img', ['info', '--output=json', image])).stdout);
      expect(info['format-specific'].data.encrypt.format).toBe('luks');
      const volume = await sandbox.claimVolumePath({ namespace: 'demo', claim });
      await run('qemu-img', ['compare', '--object', `secret,id=k,file=${keyFile}`, '--image-opts', opts, `driver=raw,file.filename=${volume}`]);
    }
  });

  it('keeps locked scheduled backups through retention (keepLast 1), after more rows', async () => {
    for (const pod of demo.dbPods) await demo.database!.addRows({ pod, count: 150 });
    for (let i = 0; i < 2; i++) await scheduler!.triggerTask('ferry-policy-vaulted');
    const listed = await request(backend!.server).get(`${shopPath}/backups`);
    scheduled = listed.body.items.filter((b: BackupDetail) => b.trigger.type === 'schedule').reverse();
    expect(scheduled.map(b => [b.phase, b.kind])).toEqual([['Completed', 'incremental'], ['Completed', 'incremental']]);
    backedUp = await statesOf('demo');
    await scheduler!.triggerTask('ferry-retention');
    // keepLast 1 would remove the older scheduled backup: it is locked, so it stays (and is logged)
    const repo = await repository([KEY1]);
    expect(await repo.listBackups(appId)).toEqual([full.id, ...scheduled.map(b => b.id)].sort());
    const after = await request(backend!.server).get(`${shopPath}/backups`);
    expect(after.body.items.map((b: BackupDetail) => b.id).sort()).toEqual([full.id, ...scheduled.map(b => b.id)].sort());
    // rows written after the backups are not in them
    await demo.database!.addRows({ count: 5 });
  });

  it("refuses deletes of a locked backup through Ferry's API and through S3 with the same credentials", async () => {
    const refused = await request(backend!.server).delete(`${shopPath}/backups/${full.id}`);
    expect(refused.status).toBe(409);
    const said = /^backup (\S+) of (\S+) is locked \(object lock, governance mode\) until (\S+) and cannot be deleted before then$/.exec(refused.body.error.message);
    expect(said?.slice(1, 3)).toEqual([full.id, appId]);
    expect(Math.abs(Date.parse(said![3]) - Date.parse(full.protection!.lock!.until))).toBeLessThan(2000);
    const manifestKey = `${PREFIX}/${layout.manifest(appId, full.id)}`;
    const [version] = await bucketAccess.versions(manifestKey);
    expect(await bucketAccess.delete(manifestKey, version)).toBe('403 object lock');
    // a delete without a version hides it behind a marker; the bytes stay and come back
    expect(await bucketAccess.delete(manifestKey)).toBe('deleted');
    const repo = await repository([KEY1]);
    expect(await repo.listBackups(appId)).not.toContain(full.id);
    expect(await (repo.target.inner as S3Target).undeleteLocked('apps/')).toEqual([layout.manifest(appId, full.id)]);
    expect(await repo.listBackups(appId)).toContain(full.id);
    expect((await verifyRepository(repo, { app: appId, backupIds: [full.id], shallow: true })).ok).toBe(true);
  });

  it('with a wrong key in the Secret, refuses a restore and a backup naming the Secret and the key id, writing nothing', async () => {
    await putKeySecret({ key: WRONG });
    const server = await startBackend();
    const refused = await request(server).post(`${shopPath}/restores`).send({ backupId: scheduled[1].id, namespace: 'demo-wrong' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toContain(
      `is encrypted with key id ${id1}, which Secret ferry-system/backup-key in cluster sandbox does not hold (it holds ${keyIdOf(Buffer.from(WRONG))})`,
    );
    expect(refused.body.error.message).not.toContain(WRONG);
    const namespaces = (await core.listNamespace()).items.map(n => n.metadata!.name);
    expect(namespaces).not.toContain('demo-wrong');
    // a backup with the wrong key fails before it stores anything (it would start over silently)
    const before = await bucketAccess.list(`${PREFIX}/`);
    const failed = await backup(shopPath, { type: 'auto' }, server);
    expect(failed.phase).toBe('Failed');
    expect(failed.message).toContain(`cannot choose the parents of this backup: object apps/${appId}/backups/`);
    expect(failed.message).toContain(`is encrypted with key id ${id1}, which Secret ferry-system/backup-key in cluster sandbox does not hold`);
    expect(failed.message).not.toContain(WRONG);
    expect((await bucketAccess.list(`${PREFIX}/`)).filter(k => k.includes(failed.id))).toEqual([]);
    expect(await bucketAccess.list(`${PREFIX}/`)).toEqual(before);
  });

  it('after a rotation (new key, old one kept) restores the old chain rows-exact and byte-exact, and starts a new chain', async () => {
    await putKeySecret({ key: KEY2, 'key-2026-12': KEY1 });
    const server = await startBackend();
    const created = await request(server).post(`${shopPath}/restores`).send({ backupId: scheduled[1].id, namespace: 'demo-vault', readyTimeoutSeconds: 300 });
    expect(created.status).toBe(201);
    const restored = await waitForOperation({ server, kind: 'restores', id: created.body.id, timeoutMs: 600_000 });
    expect(restored.failures).toEqual([]);
    expect(restored.phase).toBe('Completed');
    expect(await statesOf('demo-vault')).toEqual(backedUp);
    for (const [claim, extents] of demo.written) {
      for (const { offset, data } of extents) {
        expect((await sandbox.readVolume({ namespace: 'demo-vault', claim, offset, length: data.length })).equals(data)).toBe(true);
      }
    }
    const next = await backup(shopPath, { type: 'auto' }, server);
    expect(next).toMatchObject({ phase: 'Completed', kind: 'full', protection: { encryption: { keyId: id2 } } });
    expect(next.timeline.map(e => e.message).join('\n')).toContain(`the target's encryption key changed (key id ${id1} → ${id2})`);
  });

  it('detects an enveloped object changed on the target', async () => {
    const key = `${PREFIX}/${layout.manifest(appId, scheduled[0].id)}`;
    const changed = await bucketAccess.get(key);
    changed[changed.length - 30] ^= 1;
    const changedVersion = await bucketAccess.put(key, changed);
    const dryRun = await request(backend!.server).post(`${shopPath}/restores`).send({ backupId: scheduled[0].id, namespace: 'demo-x', dryRun: true });
    expect(dryRun.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(dryRun.body)).toMatch(/failed authentication/);
    const repo = await repository([KEY2, KEY1]);
    expect((await verifyRepository(repo, { app: appId, backupIds: [scheduled[0].id], shallow: true })).problems).toEqual([
      expect.objectContaining({ problem: expect.stringMatching(/envelope segment 0 failed authentication/) }),
    ]);
    // the changed version was not locked: removing it brings the authentic one back
    expect(await bucketAccess.delete(key, changedVersion)).toBe('deleted');
    expect((await verifyRepository(repo, { app: appId, backupIds: [scheduled[0].id], shallow: true })).ok).toBe(true);
  });

  it("compresses a policy's backups on a filesystem target (zstd clusters qemu-img reads)", async () => {
    const squeezed = await backup(labPath, { type: 'full' });
    expect(squeezed).toMatchObject({ phase: 'Completed', target: 'local', protection: { compression: 'zstd' } });
    for (const claim of demo.written.keys()) {
      const image = path.join(localDir, layout.image('component.default.shop-lab', claim, squeezed.id));
      const info = JSON.parse((await run('qemu-img', ['info', '--output=json', image])).stdout);
      expect(info['format-specific'].data['compression-type']).toBe('zstd');
      await run('qemu-img', ['check', image]);
      await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', image, await sandbox.claimVolumePath({ namespace: 'demo', claim })]);
    }
  });
});
