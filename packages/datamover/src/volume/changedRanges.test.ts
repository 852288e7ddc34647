import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppLock, FilesystemTarget, Repository, newBackupId } from '@ferry/repository';
import { backupVolume } from './backupVolume';
import { restoreVolume } from './restoreVolume';
import { parseChangedRanges, toClusterRuns } from './changedRanges';
import { makeVolume, mutateVolumeRanges, sameBytes } from '../testing/volumes';

const MiB = 1024 * 1024;

describe('changed ranges (the CBT path)', () => {
  it('merges byte ranges into sorted cluster runs', () => {
    expect(toClusterRuns([{ offset: 200_000, length: 10 }, { offset: 0, length: 65537 }, { offset: 65536, length: 1 }], 65536, 100)).toEqual([
      [0, 2],
      [3, 4],
    ]);
    expect(parseChangedRanges('{"ranges":[{"offset":0,"length":5}]}', 'f')).toEqual([{ offset: 0, length: 5 }]);
    expect(() => parseChangedRanges('[{"offset":-1,"length":5}]', 'f.json')).toThrow(/field "0.offset"/);
  });

  it('reads only the changed ranges and produces the same overlay as a full scan', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-cbt-'));
    try {
      const repo = await Repository.open(new FilesystemTarget(path.join(dir, 'repo')), { create: true });
      const vol = path.join(dir, 'vol.raw');
      await makeVolume(vol, 16 * MiB, { extents: 20, maxExtent: 256 * 1024 });
      const base = newBackupId(new Date(Date.UTC(2026, 0, 1)));
      await backupVolume({ repo, app: 'a', pvc: 'p', backupId: base, device: vol });
      const lock = await AppLock.acquire({ target: repo.target, app: 'a' });
      await repo.commitBackup({ app: 'a', backupId: base, lock });
      const ranges = await mutateVolumeRanges(vol, { writes: 15, zeroBytes: 128 * 1024 });
      const scan = await backupVolume({ repo, app: 'a', pvc: 'p', backupId: newBackupId(new Date(Date.UTC(2026, 0, 2))), parentBackupId: base, device: vol });
      const cbtId = newBackupId(new Date(Date.UTC(2026, 0, 3)));
      const cbt = await backupVolume({ repo, app: 'a', pvc: 'p', backupId: cbtId, parentBackupId: base, device: vol, changedRanges: ranges });
      await repo.commitBackup({ app: 'a', backupId: cbtId, lock });
      await lock.release();
      expect(cbt.stats.bytesRead).toBeLessThan(scan.stats.bytesRead / 2);
      expect(cbt.stats.changedClusters).toBe(scan.stats.changedClusters);
      expect(cbt.image.size).toBe(scan.image.size);
      expect(cbt.index.digest).toBe(scan.index.digest); // the new index is complete either way
      const out = path.join(dir, 'out.raw');
      await restoreVolume({ repo, app: 'a', pvc: 'p', backupId: cbtId, device: out, create: true, verifyAfter: true });
      expect(await sameBytes(out, vol)).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
