import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppLock, Repository, layout, newBackupId } from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { backupVolume } from './backupVolume';
import { restoreVolume } from './restoreVolume';
import { makeVolume, mutateVolume, sameBytes } from '../testing/volumes';
import { objectFile } from '../testing/objectFile';

const MiB = 1024 * 1024;
jest.setTimeout(180_000);

async function commit(repo: Repository, app: string, backupId: string) {
  const lock = await AppLock.acquire({ target: repo.target, app });
  try {
    await repo.commitBackup({ app, backupId, lock });
  } finally {
    await lock.release();
  }
}

describe.each(testTargetKinds())('full scans with scanning threads on a $name target', kind => {
  beforeAll(() => kind.setup(), 60_000);
  afterAll(() => kind.teardown());

  it('one scanning thread and three (two workers beside the calling thread) store the same images and indexes', async () => {
    const dir = await fs.mkdtemp(path.join(kind.scratch, 'threads-'));
    const vol = path.join(dir, 'vol.raw');
    // 48 MiB: six 8 MiB windows; a 3 MiB extent (31 to 34 MiB) crosses 1 MiB store runs and
    // a window boundary
    await makeVolume(vol, 48 * MiB, { extents: 30, maxExtent: 256 * 1024 });
    const h = await fs.open(vol, 'r+');
    await h.write(randomBytes(3 * MiB), 0, 3 * MiB, 31 * MiB);
    await h.close();
    const snapshots: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await mutateVolume(vol, { writes: 30, zeroBytes: 4 * 65536 });
      const snap = path.join(dir, `snap-${i}.raw`);
      await fs.copyFile(vol, snap);
      snapshots.push(snap);
    }
    const bytesOf = async (repo: Repository, key: string) => fs.readFile(objectFile(repo.target, key, kind.server?.dataDir));
    const images: Buffer[][] = [];
    const indexes: Buffer[][] = [];
    for (const scanThreads of [1, 3]) {
      const repo = await Repository.open(await kind.make(), { create: true });
      const ids: string[] = [];
      images.push([]);
      indexes.push([]);
      for (let i = 0; i < 3; i++) {
        const id = newBackupId(new Date(Date.UTC(2026, 0, 1, 0, i)));
        const r = await backupVolume({ repo, app: 'shop', pvc: 'data', backupId: id, parentBackupId: ids[i - 1], device: snapshots[i], scanThreads });
        expect(r.stats.bytesRead).toBe(48 * MiB);
        await commit(repo, 'shop', id);
        ids.push(id);
        images[images.length - 1].push(await bytesOf(repo, layout.image('shop', 'data', id)));
        indexes[indexes.length - 1].push(await bytesOf(repo, layout.index('shop', 'data', id)));
      }
      const top = objectFile(repo.target, layout.image('shop', 'data', ids[2]), kind.server?.dataDir);
      execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', top, snapshots[2]]);
      const out = path.join(dir, `restored-${scanThreads}.raw`);
      // image blocks checked on this thread (1) or on hashing threads (3)
      await restoreVolume({ repo, app: 'shop', pvc: 'data', backupId: ids[2], device: out, create: true, verifyAfter: true, hashThreads: scanThreads === 1 ? 0 : 2 });
      expect(await sameBytes(out, snapshots[2])).toBe(true);
    }
    for (let i = 0; i < 3; i++) {
      // byte for byte but the header cluster, which names the backing file (ids differ in
      // their random part)
      expect(indexes[1][i].equals(indexes[0][i])).toBe(true);
      expect(images[1][i].length).toBe(images[0][i].length);
      expect(images[1][i].subarray(65536).equals(images[0][i].subarray(65536))).toBe(true);
    }
  });
});
