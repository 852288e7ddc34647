import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectRetentionCommand,
  ListObjectVersionsCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { startS3Server, type S3Server } from '@ferry/sandbox/src/s3Server';
import { newBackupId } from '../backupId';
import { InvalidInputError, ObjectLockedError } from '../errors';
import { layout } from '../layout';
import { Repository } from '../Repository';
import { S3Target } from '../target/S3Target';
import { createTarget } from '../target/targetConfig';
import type { ObjectLockSettings } from '../target/Target';
import { writeTestVolume } from '../testing/testVolumes';
import { AppLock } from './AppLock';
import { deleteBackup } from './deleteBackup';
import { collectGarbage } from './gc';
import { objectsOfBackup } from './lockBackup';
import { verifyRepository } from './verify';

jest.setTimeout(90_000);

const DAY = 86_400_000;

describe.each([
  { versioning: true, name: 'a versioned bucket (as AWS keeps buckets with Object Lock)' },
  { versioning: false, name: 'an unversioned bucket' },
])('S3 Object Lock on $name (versitygw)', ({ versioning }) => {
  let server: S3Server;
  beforeAll(async () => {
    server = await startS3Server({ versioning });
  }, 60_000);
  afterAll(() => server.stop());

  const target = (bucket: string, objectLock?: ObjectLockSettings) =>
    new S3Target({
      bucket,
      prefix: 'repo',
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      objectLock,
    });

  async function lockedBucket(objectLock: boolean) {
    const bucket = `ferry-${randomBytes(4).toString('hex')}`;
    await target(bucket).client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: objectLock }));
    return bucket;
  }

  async function retentionOf(t: S3Target, key: string, versionId?: string) {
    const out = await t.client.send(new GetObjectRetentionCommand({ Bucket: (t as unknown as { o: { bucket: string } }).o.bucket, Key: `repo/${key}`, VersionId: versionId }));
    return { mode: out.Retention?.Mode, until: out.Retention?.RetainUntilDate?.getTime() ?? 0 };
  }

  async function commit(repo: Repository, o: { backupId: string; parent?: { backupId: string; record: { key: string; size: number; digest: string } } }) {
    await repo.putBackupObject({ app: 'shop', backupId: o.backupId, path: 'resources/v1/ConfigMap/c.yaml', data: `id: ${o.backupId}\n` });
    const record = await writeTestVolume({
      repo,
      app: 'shop',
      pvc: 'data',
      backupId: o.backupId,
      clusters: new Map([[o.parent ? 3 : 0, randomBytes(65536)]]),
      parent: o.parent,
    });
    const lock = await AppLock.acquire({ target: repo.target, app: 'shop' });
    const manifest = await repo.commitBackup({ app: 'shop', backupId: o.backupId, lock, volumes: [{ pvc: 'data', record }] });
    await lock.release();
    return { manifest, record };
  }

  it('refuses a filesystem target with a lock and a bucket without Object Lock, naming why', async () => {
    expect(() => createTarget({ type: 'filesystem', path: '/tmp/x', objectLock: { mode: 'governance', days: 7 } })).toThrow(
      'invalid target configuration: field "objectLock" cannot be set on a filesystem target: only s3 object lock makes objects undeletable',
    );
    const plain = await lockedBucket(false);
    await expect(Repository.open(target(plain, { mode: 'GOVERNANCE', days: 1 }), { create: true })).rejects.toThrow(
      new InvalidInputError(
        `bucket ${plain} of S3 target s3://${plain}/repo/ at ${server.endpoint} does not have Object Lock enabled; create the bucket with Object Lock (x-amz-bucket-object-lock-enabled) or remove objectLock from the target`,
      ),
    );
  });

  it('retains a whole chain, refuses deletes through Ferry and through S3 with the same credentials, and survives gc', async () => {
    const bucket = await lockedBucket(true);
    const day1 = target(bucket, { mode: 'GOVERNANCE', days: 1 });
    const repo1 = await Repository.open(day1, { create: true });
    const base = newBackupId();
    const a = await commit(repo1, { backupId: base });
    const t0 = Date.now();
    expect(a.manifest.protection?.lock?.mode).toBe('GOVERNANCE');
    const baseUntil = Date.parse(a.manifest.protection!.lock!.retainUntil);
    expect(Math.abs(baseUntil - (t0 + DAY))).toBeLessThan(60_000);
    const baseObjects = [layout.manifest('shop', base), ...(await objectsOfBackup(repo1, a.manifest))];
    expect(baseObjects).toHaveLength(6); // manifest, resource, record, image, sums, index
    for (const key of baseObjects) {
      const r = await retentionOf(day1, key);
      expect([key, r.mode, Math.abs(r.until - baseUntil) < 2000]).toEqual([key, 'GOVERNANCE', true]);
    }

    // an overlay committed later, under a longer retention, extends the base's volume objects
    const repo2 = await Repository.open(target(bucket, { mode: 'GOVERNANCE', days: 2 }));
    const overlay = newBackupId();
    const b = await commit(repo2, { backupId: overlay, parent: { backupId: base, record: a.record } });
    const overlayUntil = Date.parse(b.manifest.protection!.lock!.retainUntil);
    for (const key of [layout.image('shop', 'data', base), layout.sums('shop', 'data', base), layout.index('shop', 'data', base), layout.record('shop', 'data', base)]) {
      expect([key, Math.abs((await retentionOf(day1, key)).until - overlayUntil) < 2000]).toEqual([key, true]);
    }
    // the base backup's own manifest keeps its date: a base's volume lives as long as its last overlay
    expect(Math.abs((await retentionOf(day1, layout.manifest('shop', base))).until - baseUntil) < 2000).toBe(true);

    // Ferry's delete says why and changes nothing
    const lock = await AppLock.acquire({ target: repo2.target, app: 'shop' });
    const refused = await deleteBackup(repo2, { app: 'shop', backupId: base, lock }).catch(e => e);
    expect(refused).toBeInstanceOf(ObjectLockedError);
    expect(refused.message).toBe(
      `backup ${base} of shop is locked (object lock, governance mode) until ${new Date((await retentionOf(day1, layout.manifest('shop', base))).until).toISOString()} and cannot be deleted before then`,
    );
    expect(refused.until.getTime()).toBe((await retentionOf(day1, layout.manifest('shop', base))).until);
    // gc removes nothing of it either
    expect((await collectGarbage(repo2, { app: 'shop', graceMs: 0, now: new Date(Date.now() + 1000) })).deletedKeys).toEqual([]);
    await lock.release();
    expect(await repo2.listBackups('shop')).toEqual([base, overlay]);

    // someone with the bucket's credentials: deleting a version is refused ...
    const manifestKey = `repo/${layout.manifest('shop', base)}`;
    const versions = await day1.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: manifestKey }));
    const versionId = versions.Versions?.[0]?.VersionId;
    const status = (sent: Promise<unknown>) =>
      sent.then(
        () => 'deleted',
        (e: { $metadata?: { httpStatusCode?: number }; message?: string }) => `${e.$metadata?.httpStatusCode} ${/object lock/i.test(e.message ?? '') ? 'object lock' : e.message}`,
      );
    // versioned: the version's delete is refused; a delete without a version only lays a marker
    // over it (the backup seems gone) and undeleteLocked brings it back; unversioned: refused
    const versionDelete = versioning
      ? await status(day1.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifestKey, VersionId: versionId })))
      : 'no versions';
    const plainDelete = await status(day1.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifestKey })));
    const listedAfter = await repo2.listBackups('shop');
    const undeleted = await day1.undeleteLocked('apps/');
    expect({ versionDelete, plainDelete, listedAfter, undeleted }).toEqual(
      versioning
        ? { versionDelete: '403 object lock', plainDelete: 'deleted', listedAfter: [overlay], undeleted: [layout.manifest('shop', base)] }
        : { versionDelete: 'no versions', plainDelete: '403 object lock', listedAfter: [base, overlay], undeleted: [] },
    );
    expect(await repo2.listBackups('shop')).toEqual([base, overlay]);
    const report = await verifyRepository(repo2, { app: 'shop' });
    expect(report.problems).toEqual([]);
    expect(report.backups).toEqual([{ backupId: base, ok: true }, { backupId: overlay, ok: true }]);

    // governance: an administrator may bypass it (shortened here to let the test see the end of a lock)
    const soon = new Date(Date.now() + 3000);
    for (const key of baseObjects.concat(layout.manifest('shop', overlay), ...(await objectsOfBackup(repo2, b.manifest)))) {
      await day1.client.send(
        new PutObjectRetentionCommand({ Bucket: bucket, Key: `repo/${key}`, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: soon } }),
      );
    }
    await new Promise(r => setTimeout(r, soon.getTime() - Date.now() + 1100));
    const lock2 = await AppLock.acquire({ target: repo2.target, app: 'shop' });
    await deleteBackup(repo2, { app: 'shop', backupId: base, lock: lock2 });
    await deleteBackup(repo2, { app: 'shop', backupId: overlay, lock: lock2 });
    await lock2.release();
    expect(await repo2.listBackups('shop')).toEqual([]);
  });

  it('in compliance mode nobody shortens or bypasses the lock', async () => {
    const bucket = await lockedBucket(true);
    const t = target(bucket, { mode: 'COMPLIANCE', days: 1 });
    const repo = await Repository.open(t, { create: true });
    const id = newBackupId();
    await commit(repo, { backupId: id });
    const key = `repo/${layout.manifest('shop', id)}`;
    await expect(
      t.client.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, BypassGovernanceRetention: true, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 1000) } })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: expect.any(Number) } });
    const versions = await t.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    const versionId = versioning ? versions.Versions?.[0]?.VersionId : undefined;
    await expect(
      t.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, BypassGovernanceRetention: true })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(await repo.listBackups('shop')).toEqual([id]);
    expect((await retentionOf(t, layout.manifest('shop', id))).mode).toBe('COMPLIANCE');
  });
});
