import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppLock, FilesystemTarget, Repository, newBackupId } from '@ferry/repository';
import { backupVolume } from '../volume/backupVolume';
import { restoreVolume } from '../volume/restoreVolume';
import { makeVolume, sameBytes } from '../testing/volumes';
import { alignedBuffer } from './alignedBuffer';
import { Device } from './Device';

const MiB = 1024 * 1024;
jest.setTimeout(120_000);

/** A real loop device over `file` (root: the suite runs as root, as the sandbox needs). */
const attach = (file: string) =>
  execFileSync('losetup', ['--find', '--show', '--read-only', file]).toString().trim();
const detach = (device: string) => execFileSync('losetup', ['--detach', device]);

describe('Device on a block device (a loop device)', () => {
  let dir: string;
  let file: string;
  let loop: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-device-'));
    file = path.join(dir, 'vol.raw');
    // 2 clusters of data per 256 KiB read at most, holes between: every read path is crossed
    await makeVolume(file, 24 * MiB + 512 * 3, { extents: 30, maxExtent: 200 * 1024 });
    loop = attach(file);
  });

  afterAll(async () => {
    if (loop) detach(loop);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads with O_DIRECT: aligned buffers get the bytes, an unaligned one is refused by the kernel', async () => {
    const device = await Device.open({ path: loop, write: false, direct: true });
    try {
      expect({ direct: device.direct, block: device.isBlockDevice, size: device.size }).toEqual({
        direct: true,
        block: true,
        size: (await fs.stat(file)).size,
      });
      const expected = (await fs.readFile(file)).subarray(MiB, 2 * MiB);
      const got = await device.read(alignedBuffer(MiB), MiB, MiB);
      expect(Buffer.compare(got, expected)).toBe(0);
      // the proof that the page cache is bypassed: O_DIRECT refuses a misaligned buffer
      const misaligned = Buffer.alloc(MiB + 1).subarray(1);
      await expect(device.read(misaligned, 0, MiB)).rejects.toMatchObject({ code: 'EINVAL' });
    } finally {
      await device.close();
    }
  });

  it('reads a regular file through the page cache, even when asked for O_DIRECT', async () => {
    const onFile = await Device.open({ path: file, write: false, direct: true });
    const misaligned = Buffer.alloc(4097).subarray(1);
    await expect(onFile.read(misaligned, 1, 4096)).resolves.toHaveLength(4096);
    expect(onFile.direct).toBe(false);
    await onFile.close();
  });

  it('backs the device up with O_DIRECT reads (one thread and three) and restores it byte-exact', async () => {
    const repo = await Repository.open(new FilesystemTarget(path.join(dir, 'repo')), { create: true });
    for (const scanThreads of [1, 3]) {
      const backupId = newBackupId(new Date(Date.UTC(2026, 0, 1, 0, scanThreads)));
      const result = await backupVolume({ repo, app: 'direct', pvc: `data-${scanThreads}`, backupId, device: loop, scanThreads });
      expect(result.kind).toBe('full');
      const lock = await AppLock.acquire({ target: repo.target, app: 'direct' });
      await repo.commitBackup({ app: 'direct', backupId, lock }).finally(() => lock.release());
      const restored = path.join(dir, `restored-${scanThreads}.raw`);
      await restoreVolume({ repo, app: 'direct', pvc: `data-${scanThreads}`, backupId, device: restored, create: true });
      expect(await sameBytes(restored, file)).toBe(true);
    }
  });
});
