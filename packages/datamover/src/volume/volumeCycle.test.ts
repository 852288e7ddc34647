import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  AppLock,
  Repository,
  collectGarbage,
  deleteBackup,
  layout,
  newBackupId,
  verifyRepository,
} from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { backupVolume } from './backupVolume';
import { restoreVolume } from './restoreVolume';
import { DatamoverError } from '../errors';
import { makeVolume, mutateVolume, sameBytes } from '../testing/volumes';
import { objectFile } from '../testing/objectFile';

const MiB = 1024 * 1024;
jest.setTimeout(180_000);

async function withLock<T>(repo: Repository, app: string, fn: (lock: AppLock) => Promise<T>): Promise<T> {
  const lock = await AppLock.acquire({ target: repo.target, app });
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

const commit = (repo: Repository, app: string, backupId: string) =>
  withLock(repo, app, lock => repo.commitBackup({ app, backupId, lock }));

describe.each(testTargetKinds())('volume backup and restore on a $name target', kind => {
  beforeAll(() => kind.setup(), 60_000);
  afterAll(() => kind.teardown());

  it('full + 5 incrementals: each restores byte-exact, overlays hold only changed clusters, a middle delete keeps the rest', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const dir = await fs.mkdtemp(path.join(kind.scratch, 'cycle-'));
    const vol = path.join(dir, 'vol.raw');
    await makeVolume(vol, 32 * MiB, { extents: 40, maxExtent: 256 * 1024 });
    const ids: string[] = [];
    const snapshots: string[] = [];
    const results = [];
    for (let i = 0; i < 6; i++) {
      if (i > 0) await mutateVolume(vol, { writes: 20, zeroBytes: i % 2 ? 128 * 1024 : 0 });
      const snap = path.join(dir, `snap-${i}.raw`);
      await fs.copyFile(vol, snap);
      snapshots.push(snap);
      const id = newBackupId(new Date(Date.UTC(2026, 0, 1, 0, i)));
      results.push(await backupVolume({ repo, app: 'shop', pvc: 'data', backupId: id, parentBackupId: ids[i - 1], device: snap }));
      await commit(repo, 'shop', id);
      ids.push(id);
    }
    expect(results.map(r => r.kind)).toEqual(['full', ...Array(5).fill('incremental')]);
    for (let i = 1; i < 6; i++) {
      // changed clusters, counted independently by comparing the two snapshots
      const prev = await fs.readFile(snapshots[i - 1]);
      const cur = await fs.readFile(snapshots[i]);
      let changed = 0;
      for (let c = 0; c < cur.length; c += 65536) {
        if (!cur.subarray(c, c + 65536).equals(prev.subarray(c, c + 65536))) changed++;
      }
      const r = results[i];
      expect(r.stats.changedClusters).toBe(changed);
      // stored bytes ≈ changed clusters: data clusters + head, L2 tables and refcounts
      expect(r.image.size).toBeGreaterThanOrEqual(r.stats.dataClusters * 65536);
      expect(r.image.size).toBeLessThanOrEqual((changed + 6) * 65536);
    }
    expect(await repo.listBackups('shop')).toEqual(ids);
    expect(await repo.listApps()).toEqual(['shop']);
    // the stored files open with qemu-img as they are (a folder; versitygw's posix backend
    // keeps S3 objects as plain files too): backing names are the parents' file names
    const top = objectFile(repo.target, layout.image('shop', 'data', ids[5]), kind.server?.dataDir);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '--backing-chain', top]).toString());
    expect(info).toHaveLength(6);
    execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', top, snapshots[5]]);
    execFileSync('qemu-img', ['check', top]);
    const restoreAll = async (which: number[]) => {
      for (const i of which) {
        const out = path.join(dir, `restored-${i}.raw`);
        await fs.rm(out, { force: true });
        await restoreVolume({ repo, app: 'shop', pvc: 'data', backupId: ids[i], device: out, create: true, verifyAfter: true });
        expect(await sameBytes(out, snapshots[i])).toBe(true);
      }
    };
    await restoreAll([0, 1, 2, 3, 4, 5]);
    expect((await verifyRepository(repo, { app: 'shop' })).problems).toEqual([]);

    // delete a middle backup: every other one still restores byte-exact
    const del = await withLock(repo, 'shop', lock => deleteBackup(repo, { app: 'shop', backupId: ids[2], lock }));
    expect(del.keptVolumes).toEqual(['data']); // ids[3..5] are overlays on it
    expect(await repo.listBackups('shop')).toEqual([ids[0], ids[1], ids[3], ids[4], ids[5]]);
    await restoreAll([0, 1, 3, 4, 5]);
    const afterDelete = await verifyRepository(repo, { app: 'shop' });
    expect(afterDelete.problems).toEqual([]);
    expect(afterDelete.uncommitted).toEqual([]);
    // deleting the newest frees its image; deleting the rest of the chain frees the kept one
    for (const id of [ids[5], ids[4], ids[3]]) {
      await withLock(repo, 'shop', lock => deleteBackup(repo, { app: 'shop', backupId: id, lock }));
    }
    expect(await repo.target.head(layout.image('shop', 'data', ids[2]))).toBeUndefined();
    expect(await repo.target.head(layout.keep('shop', 'data', ids[2]))).toBeUndefined();
    await restoreAll([0, 1]);
    expect((await collectGarbage(repo, { app: 'shop', graceMs: 0 })).deletedKeys).toEqual([]);
    await repo.target.close();
  });

  it('detects a flipped byte in a stored image on restore and on verify', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const dir = await fs.mkdtemp(path.join(kind.scratch, 'flip-'));
    const vol = path.join(dir, 'vol.raw');
    await makeVolume(vol, 16 * MiB, { extents: 30, maxExtent: 512 * 1024 });
    const id = newBackupId();
    const r = await backupVolume({ repo, app: 'shop', pvc: 'db', backupId: id, device: vol });
    await commit(repo, 'shop', id);
    expect(r.image.size).toBeGreaterThan(3 * MiB);
    const stored = objectFile(repo.target, r.image.key, kind.server?.dataDir);
    const h = await fs.open(stored, 'r+');
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, 2 * MiB + 77);
    b[0] ^= 0x10;
    await h.write(b, 0, 1, 2 * MiB + 77);
    await h.close();
    const out = path.join(dir, 'restored.raw');
    const failed = await restoreVolume({ repo, app: 'shop', pvc: 'db', backupId: id, device: out, create: true }).catch(e => e);
    expect(failed).toBeInstanceOf(DatamoverError);
    expect(failed.message).toMatch(/block 2 /);
    expect(failed.code).toBe('INTEGRITY');
    const report = await verifyRepository(repo, { app: 'shop' });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ backupId: id, key: r.image.key, problem: expect.stringContaining('block 2 ') }]);
    await repo.target.close();
  });

  it('refuses an incremental on a missing, resized or corrupt parent with a hint to run a full backup', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const vol = path.join(kind.scratch, 'small.raw');
    await makeVolume(vol, 1 * MiB, { extents: 2, maxExtent: 65536 });
    const err = await backupVolume({ repo, app: 'shop', pvc: 'db', backupId: newBackupId(), parentBackupId: newBackupId(), device: vol }).catch(e => e);
    expect(err).toBeInstanceOf(DatamoverError);
    expect(err).toMatchObject({ code: 'PARENT_UNUSABLE', hint: expect.stringContaining('full backup') });
    await expect(backupVolume({ repo, app: 'shop', pvc: 'db', backupId: newBackupId(), device: path.join(kind.scratch, 'nope') })).rejects.toMatchObject({ code: 'DEVICE_MISSING' });
    // a parent of another size, and a parent whose digest index was damaged
    const base = newBackupId();
    const full = await backupVolume({ repo, app: 'shop', pvc: 'db', backupId: base, device: vol });
    await commit(repo, 'shop', base);
    const bigger = path.join(kind.scratch, 'bigger.raw');
    await makeVolume(bigger, 2 * MiB, { extents: 2, maxExtent: 65536 });
    await expect(backupVolume({ repo, app: 'shop', pvc: 'db', backupId: newBackupId(), parentBackupId: base, device: bigger })).rejects.toMatchObject({
      code: 'PARENT_UNUSABLE',
      message: expect.stringContaining('the volume now has 2097152 bytes'),
    });
    const indexFile = objectFile(repo.target, full.index.key, kind.server?.dataDir);
    const bytes = await fs.readFile(indexFile);
    bytes[bytes.length - 1] ^= 1;
    await fs.writeFile(indexFile, bytes);
    await expect(backupVolume({ repo, app: 'shop', pvc: 'db', backupId: newBackupId(), parentBackupId: base, device: vol })).rejects.toMatchObject({
      code: 'PARENT_UNUSABLE',
      message: expect.stringMatching(/digest index of the parent backup is corrupt: .*digest is sha256:/),
      hint: expect.stringContaining('full backup'),
    });
    const incomplete = [];
    for await (const u of repo.target.listIncomplete('apps/')) incomplete.push(u);
    expect(incomplete).toEqual([]);
    expect(await repo.listBackups('shop')).toEqual([base]);
    await repo.target.close();
  });
});
