import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppLock, Repository, layout, newBackupId, verifyRepository } from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { backupVolume } from './backupVolume';
import { restoreVolume } from './restoreVolume';
import { DatamoverError } from '../errors';
import { makeVolume, mutateVolume, sameBytes } from '../testing/volumes';
import { objectFile } from '../testing/objectFile';

const MiB = 1024 * 1024;
const passphrase = Buffer.from('correct horse battery staple');
jest.setTimeout(180_000);

const commit = async (repo: Repository, app: string, backupId: string) => {
  const lock = await AppLock.acquire({ target: repo.target, app });
  try {
    await repo.commitBackup({ app, backupId, lock });
  } finally {
    await lock.release();
  }
};

describe.each(testTargetKinds().filter(k => k.name === 'filesystem'))('compressed and encrypted volume backups on a $name target', kind => {
  beforeAll(() => kind.setup(), 60_000);
  afterAll(() => kind.teardown());

  it('an encrypted full + 2 incrementals: qemu-img opens the chain with the passphrase, restores need it, tampering is caught by the digests', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const dir = await fs.mkdtemp(path.join(kind.scratch, 'luks-'));
    const vol = path.join(dir, 'vol.raw');
    await makeVolume(vol, 16 * MiB, { extents: 30, maxExtent: 256 * 1024 });
    const ids: string[] = [];
    const snapshots: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await mutateVolume(vol, { writes: 15 });
      const snap = path.join(dir, `snap-${i}.raw`);
      await fs.copyFile(vol, snap);
      snapshots.push(snap);
      const id = newBackupId(new Date(Date.UTC(2026, 0, 1, 0, i)));
      await backupVolume({ repo, app: 'shop', pvc: 'data', backupId: id, parentBackupId: ids[i - 1], device: snap, passphrase });
      await commit(repo, 'shop', id);
      ids.push(id);
    }
    const secretFile = path.join(dir, 'passphrase');
    await fs.writeFile(secretFile, passphrase, { mode: 0o600 });
    const top = objectFile(repo.target, layout.image('shop', 'data', ids[2]), kind.server?.dataDir);
    const opts = `driver=qcow2,file.filename=${top},encrypt.key-secret=sec0,backing.encrypt.key-secret=sec0,backing.backing.encrypt.key-secret=sec0`;
    const secret = ['--object', `secret,id=sec0,file=${secretFile}`];
    execFileSync('qemu-img', ['check', ...secret, '--image-opts', opts]);
    execFileSync('qemu-img', ['compare', ...secret, '--image-opts', opts, `driver=raw,file.filename=${snapshots[2]}`]);

    for (let i = 0; i < 3; i++) {
      const out = path.join(dir, `restored-${i}.raw`);
      await restoreVolume({ repo, app: 'shop', pvc: 'data', backupId: ids[i], device: out, create: true, verifyAfter: true, passphrase });
      expect(await sameBytes(out, snapshots[i])).toBe(true);
    }
    const out = path.join(dir, 'refused.raw');
    for (const [given, message] of [
      [undefined, /is encrypted \(luks\): a passphrase is needed/],
      [Buffer.from('not it'), /the passphrase opens none of the 1 active luks key slot/],
    ] as const) {
      const failed = await restoreVolume({ repo, app: 'shop', pvc: 'data', backupId: ids[2], device: out, create: true, passphrase: given }).catch(e => e);
      expect(failed).toBeInstanceOf(DatamoverError);
      expect(failed.code).toBe('CREDENTIALS_INVALID');
      expect(failed.message).toMatch(message);
      expect((await fs.stat(out)).blocks).toBe(0); // created (--create) but nothing written
      await fs.rm(out);
    }
    // An incremental on an encrypted parent without the passphrase is refused before writing.
    const refused = await backupVolume({ repo, app: 'shop', pvc: 'data', backupId: newBackupId(), parentBackupId: ids[2], device: vol }).catch(e => e);
    expect(refused.code).toBe('CREDENTIALS_INVALID');

    // XTS is not authenticated: a flipped ciphertext byte is caught by the image's .sums.
    const base = objectFile(repo.target, layout.image('shop', 'data', ids[0]), kind.server?.dataDir);
    const h = await fs.open(base, 'r+');
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, 3 * MiB + 5);
    b[0] ^= 0x01;
    await h.write(b, 0, 1, 3 * MiB + 5);
    await h.close();
    const tampered = await restoreVolume({ repo, app: 'shop', pvc: 'data', backupId: ids[0], device: out, create: true, passphrase }).catch(e => e);
    expect(tampered.code).toBe('INTEGRITY');
    expect(tampered.message).toMatch(/block 3 /);
    expect((await verifyRepository(repo, { app: 'shop' })).ok).toBe(false);
    await repo.target.close();
  });

  it('zstd-compressed full + incremental restore byte-exact and are smaller; compression with a passphrase is refused', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const dir = await fs.mkdtemp(path.join(kind.scratch, 'zstd-'));
    const vol = path.join(dir, 'vol.raw');
    await makeVolume(vol, 16 * MiB, { extents: 30, maxExtent: 256 * 1024 });
    // Half of each extent's clusters become text (random data does not compress).
    const bytes = await fs.readFile(vol);
    for (let at = 0; at < bytes.length; at += 128 * 1024) {
      const slice = bytes.subarray(at, at + 64 * 1024);
      if (slice.some(x => x !== 0)) slice.fill('compressible text '.repeat(4));
    }
    await fs.writeFile(vol, bytes);
    const full = await backupVolume({ repo, app: 'web', pvc: 'data', backupId: newBackupId(new Date(Date.UTC(2026, 1, 1))), device: vol, compression: { type: 'zstd' } });
    const plain = await backupVolume({ repo, app: 'plain', pvc: 'data', backupId: newBackupId(), device: vol });
    expect(full.image.size).toBeLessThan(plain.image.size);
    await commit(repo, 'web', full.backupId);
    await mutateVolume(vol, { writes: 10 });
    const incremental = await backupVolume({
      repo, app: 'web', pvc: 'data', backupId: newBackupId(new Date(Date.UTC(2026, 1, 2))),
      parentBackupId: full.backupId, device: vol, compression: { type: 'deflate' },
    });
    await commit(repo, 'web', incremental.backupId);
    const top = objectFile(repo.target, incremental.image.key, kind.server?.dataDir);
    execFileSync('qemu-img', ['check', top]);
    execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', top, vol]);
    const out = path.join(dir, 'restored.raw');
    await restoreVolume({ repo, app: 'web', pvc: 'data', backupId: incremental.backupId, device: out, create: true, verifyAfter: true });
    expect(await sameBytes(out, vol)).toBe(true);
    const both = await backupVolume({ repo, app: 'web', pvc: 'data', backupId: newBackupId(), device: vol, compression: { type: 'zstd' }, passphrase }).catch(e => e);
    expect(both).toBeInstanceOf(DatamoverError);
    expect(both.code).toBe('USAGE');
    expect(both.message).toMatch(/Compression and encryption not supported at the same time/);
    await repo.target.close();
  });
});
