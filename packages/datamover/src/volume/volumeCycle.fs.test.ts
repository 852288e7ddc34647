import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AppLock,
  FilesystemTarget,
  Repository,
  deleteBackup,
  newBackupId,
  verifyRepository,
} from '@ferry/repository';
import { backupVolume } from './backupVolume';
import { restoreVolume } from './restoreVolume';
import { makeVolume, mutateVolume, sameBytes } from '../testing/volumes';

const MiB = 1024 * 1024;

describe('volume backup and restore on a filesystem target', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-dm-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('backs up a full + 5 incrementals, restores each byte-exact, qemu-img reads the chain', async () => {
    const repo = await Repository.open(new FilesystemTarget(path.join(dir, 'repo')), { create: true });
    const vol = path.join(dir, 'vol.raw');
    await makeVolume(vol, 32 * MiB, { extents: 40, maxExtent: 256 * 1024 });
    const ids: string[] = [];
    const snapshots: string[] = [];
    for (let i = 0; i < 6; i++) {
      if (i > 0) await mutateVolume(vol, { writes: 20, zeroBytes: i % 2 ? 128 * 1024 : 0 });
      const snap = path.join(dir, `snap-${i}.raw`);
      await fs.copyFile(vol, snap);
      snapshots.push(snap);
      const id = newBackupId(new Date(Date.UTC(2026, 0, 1, 0, i)));
      const r = await backupVolume({ repo, app: 'shop', pvc: 'data', backupId: id, parentBackupId: ids[i - 1], device: snap });
      const lock = await AppLock.acquire({ target: repo.target, app: 'shop' });
      await repo.commitBackup({ app: 'shop', backupId: id, lock, volumes: [{ pvc: 'data', record: r.record }] });
      await lock.release();
      ids.push(id);
      if (i > 0) {
        // an overlay stores only the changed clusters (+ metadata): far below the volume
        expect(r.kind).toBe('incremental');
        expect(r.stats.changedClusters).toBeGreaterThan(0);
        expect(r.image.size).toBeLessThan((r.stats.changedClusters + 12) * 65536);
        expect(r.image.size).toBeGreaterThanOrEqual(r.stats.dataClusters * 65536);
      }
    }
    expect(await repo.listBackups('shop')).toEqual(ids);
    expect(await repo.listApps()).toEqual(['shop']);
    const top = path.join(dir, 'repo', 'apps', 'shop', 'volumes', 'data', `${ids[5]}.qcow2`);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '--backing-chain', top]).toString());
    expect(info).toHaveLength(6);
    execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', top, snapshots[5]]);
    for (let i = 0; i < 6; i++) {
      const out = path.join(dir, `restored-${i}.raw`);
      await restoreVolume({ repo, app: 'shop', pvc: 'data', backupId: ids[i], device: out, create: true, verifyAfter: true });
      expect(await sameBytes(out, snapshots[i])).toBe(true);
    }
    const report = await verifyRepository(repo, { app: 'shop' });
    expect(report.problems).toEqual([]);
  });
});
