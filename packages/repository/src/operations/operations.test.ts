import { randomBytes } from 'node:crypto';
import { testTargetKinds } from '../testing/testTargets';
import { Repository } from '../Repository';
import { AppLock } from './AppLock';
import { collectGarbage } from './gc';
import { verifyRepository } from './verify';
import { AlreadyExistsError, LockHeldError, IntegrityError } from '../errors';
import { layout } from '../layout';
import { newBackupId } from '../backupId';
import { BlockDigestSink } from '../digest/BlockDigestSink';
import { createHash } from 'node:crypto';

jest.setTimeout(60_000);

describe.each(testTargetKinds())('repository operations on a $name target', kind => {
  beforeAll(() => kind.setup(), 60_000);
  afterAll(() => kind.teardown());

  it('lets one writer hold an application lock; an expired lease is taken over', async () => {
    const target = await kind.make();
    const first = await AppLock.acquire({ target, app: 'shop', owner: 'job-1' });
    await expect(AppLock.acquire({ target, app: 'shop', owner: 'job-2' })).rejects.toThrow(
      /locked by job-1/,
    );
    const other = await AppLock.acquire({ target, app: 'other', owner: 'job-2' });
    await first.release();
    const second = await AppLock.acquire({ target, app: 'shop', owner: 'job-2', leaseMs: 50 });
    await new Promise(r => setTimeout(r, 80));
    const third = await AppLock.acquire({ target, app: 'shop', owner: 'job-3', confirmDelayMs: 50 });
    await expect(second.check()).rejects.toBeInstanceOf(LockHeldError);
    await third.check();
    await third.release();
    await other.release();
    await target.close();
  });

  it('commits with the lock only once; the manifest digests every object; reads check them', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const id = newBackupId();
    const yaml = await repo.putBackupObject({ app: 'shop', backupId: id, path: 'resources/apps/Deployment/web.yaml', data: 'kind: Deployment\n' });
    const lock = await AppLock.acquire({ target: repo.target, app: 'shop' });
    const images = await repo.putObject(`images/index/shop/${id}.json`, '{"manifests":[]}');
    const wrong = { ...images, key: 'images/index/shop/other.json' };
    await repo.target.put(wrong.key, 'something else');
    await expect(repo.commitBackup({ app: 'shop', backupId: id, lock, extraObjects: [wrong] })).rejects.toBeInstanceOf(IntegrityError);
    const m = await repo.commitBackup({ app: 'shop', backupId: id, lock, extraObjects: [images], metadata: { phase: 'Completed' } });
    expect(m.objects).toEqual([yaml, images]);
    await expect(repo.commitBackup({ app: 'shop', backupId: id, lock })).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(repo.putBackupObject({ app: 'shop', backupId: id, path: 'x', data: 'y' })).rejects.toBeInstanceOf(AlreadyExistsError);
    await lock.release();
    await expect(repo.commitBackup({ app: 'shop', backupId: newBackupId(), lock })).rejects.toBeInstanceOf(LockHeldError);
    expect(await repo.listBackups('shop')).toEqual([id]);
    expect((await repo.readManifest('shop', id)).metadata).toEqual({ phase: 'Completed' });
    // damage the resource: the digest in the manifest catches it
    await repo.target.put(yaml.key, 'kind: Deployment\nhacked: true\n');
    await expect(repo.getVerified(yaml)).rejects.toBeInstanceOf(IntegrityError);
    const report = await verifyRepository(repo, { app: 'shop' });
    expect(report.problems).toEqual([{ backupId: id, key: yaml.key, problem: expect.stringMatching(/size is|digest is/) }]);
    await repo.target.close();
  });

  it('collects leftovers of uncommitted backups after the grace period, never committed ones', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const kept = newBackupId();
    await repo.putBackupObject({ app: 'shop', backupId: kept, path: 'resources/a.yaml', data: 'a' });
    const lock = await AppLock.acquire({ target: repo.target, app: 'shop' });
    await repo.commitBackup({ app: 'shop', backupId: kept, lock });
    const dead = newBackupId();
    await repo.putBackupObject({ app: 'shop', backupId: dead, path: 'resources/b.yaml', data: 'b' });
    await repo.target.put(layout.index('shop', 'data', dead), randomBytes(100));
    expect((await verifyRepository(repo, { app: 'shop' })).uncommitted.sort()).toEqual(
      [layout.index('shop', 'data', dead), `${layout.backupPrefix('shop', dead)}resources/b.yaml`].sort(),
    );
    expect((await collectGarbage(repo, { app: 'shop' })).deletedKeys).toEqual([]); // within the grace period
    const gc = await collectGarbage(repo, { app: 'shop', graceMs: 0, now: new Date(Date.now() + 1000) });
    expect(gc.deletedKeys.sort()).toEqual(
      [layout.index('shop', 'data', dead), `${layout.backupPrefix('shop', dead)}resources/b.yaml`].sort(),
    );
    expect(await repo.listBackups('shop')).toEqual([kept]);
    expect((await verifyRepository(repo, { app: 'shop' })).ok).toBe(true);
    await lock.release();
    await repo.target.close();
  });
});

describe('BlockDigestSink', () => {
  it('digests appends in call order even when the inner sink completes them out of order', async () => {
    const written = new Map<number, Uint8Array>();
    let size = 0;
    const inner = {
      reserveHead: async () => undefined,
      write: async (d: Uint8Array, o: number) => {
        await new Promise(r => setTimeout(r, o === 0 ? 1 : Math.random() * 10));
        written.set(o, Uint8Array.from(d));
        size = Math.max(size, o + d.length);
      },
      commit: async () => ({ size }),
      abort: async () => undefined,
    };
    const sink = new BlockDigestSink(inner, 1024);
    await sink.reserveHead(100);
    const parts = [randomBytes(700), randomBytes(900), randomBytes(1500), randomBytes(33)];
    let at = 100;
    const pending = parts.map(p => {
      const w = sink.write(p, at);
      at += p.length;
      return w;
    });
    await Promise.all(pending);
    const head = randomBytes(100);
    await sink.write(head, 0);
    await sink.commit();
    const whole = Buffer.concat([head, ...parts]);
    const want = [];
    for (let i = 0; i < whole.length; i += 1024) want.push(createHash('sha256').update(whole.subarray(i, i + 1024)).digest());
    expect(Buffer.from(sink.sums()).equals(Buffer.concat(want))).toBe(true);
  });
});
