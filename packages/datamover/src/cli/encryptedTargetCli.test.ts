import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { keyIdOf, layout, newBackupId, type Target } from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { makeVolume, mutateVolume, sameBytes } from '../testing/volumes';
import { main } from './main';

jest.setTimeout(180_000);

/** Runs the CLI in-process; returns the exit code, the JSON lines and the log text. */
async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const lines: Array<Record<string, any>> = [];
  let log = '';
  const code = await main(args, env, { line: o => lines.push(JSON.parse(JSON.stringify(o))), log: m => (log += `${m}\n`), terminate: () => undefined });
  return { code, lines, log, last: lines[lines.length - 1] };
}

/** A folder laid out as the kubelet mounts a Secret: the files are links through `..data`. */
async function secretMount(dir: string, data: Record<string, string>): Promise<string> {
  const stamp = path.join(dir, `..2026_${randomBytes(3).toString('hex')}`);
  await fs.mkdir(stamp, { recursive: true });
  for (const [name, value] of Object.entries(data)) await fs.writeFile(path.join(stamp, name), value);
  await fs.symlink(path.basename(stamp), path.join(dir, '..data'));
  for (const name of Object.keys(data)) await fs.symlink(path.join('..data', name), path.join(dir, name));
  return dir;
}

/** Copies a chain's images out of the target into `into`, named as their keys' last part (the backing names). */
async function downloadImages(target: Target, keys: string[], into: string) {
  await fs.mkdir(into, { recursive: true });
  for (const key of keys) await fs.writeFile(path.join(into, path.basename(key)), await target.getStream(key));
  return keys.map(key => path.join(into, path.basename(key)));
}

describe.each(testTargetKinds())('datamover on an encrypted $name target (--encryption-key-dir)', kind => {
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let target: Target;
  const keyOld = randomBytes(32).toString('base64');
  const keyNew = randomBytes(32).toString('base64');
  beforeAll(async () => {
    await kind.setup();
    dir = kind.scratch;
    target = await kind.make();
    env = { FERRY_APP: 'shop', FERRY_PVC: 'data', FERRY_ENCRYPTION_KEY_SOURCE: 'Secret ferry-system/backup-key' };
    if (kind.name === 'filesystem') {
      Object.assign(env, { FERRY_TARGET_TYPE: 'filesystem', FERRY_TARGET_PATH: target.description.replace('file://', '') });
    } else {
      const s = kind.server!;
      const creds = path.join(dir, 's3-credentials');
      await fs.mkdir(creds);
      await fs.writeFile(path.join(creds, 'accessKeyId'), s.accessKeyId);
      await fs.writeFile(path.join(creds, 'secretAccessKey'), s.secretAccessKey);
      const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(\S*?)\/? at /.exec(target.description)!;
      Object.assign(env, {
        FERRY_TARGET_TYPE: 's3',
        FERRY_S3_BUCKET: bucket,
        FERRY_S3_PREFIX: prefix,
        FERRY_S3_ENDPOINT: s.endpoint,
        FERRY_S3_FORCE_PATH_STYLE: 'true',
        FERRY_S3_CREDENTIALS_DIR: creds,
      });
    }
  }, 60_000);
  afterAll(() => kind.teardown());

  it('seals records and indexes, writes LUKS images qemu-img opens with the key, restores only with the right key', async () => {
    const keys = await secretMount(path.join(dir, 'keys-v1'), { key: keyOld });
    const withKeys = { ...env, FERRY_ENCRYPTION_KEY_DIR: keys };
    const vol = path.join(dir, 'vol.raw');
    await makeVolume(vol, 8 * 1024 * 1024, { extents: 12, maxExtent: 256 * 1024 });
    const snapshots = [path.join(dir, 'snap0.raw'), path.join(dir, 'snap1.raw')];
    await fs.copyFile(vol, snapshots[0]);
    const full = newBackupId();
    const b1 = await cli(['volume', 'backup', '--backup-id', full, '--device', vol, '--commit'], withKeys);
    expect(b1.last).toMatchObject({ type: 'result', kind: 'full' });
    await mutateVolume(vol, { writes: 20 });
    await fs.copyFile(vol, snapshots[1]);
    const incr = newBackupId();
    const b2 = await cli(['volume', 'backup', '--backup-id', incr, '--parent', full, '--device', vol, '--commit'], withKeys);
    expect(b2.last).toMatchObject({ type: 'result', kind: 'incremental' });

    // compression on an encrypted target is a usage error, before anything is written
    const both = await cli(['volume', 'backup', '--backup-id', newBackupId(), '--device', vol, '--compress', 'zstd'], withKeys);
    expect(both.code).toBe(2);
    expect(both.last.message).toMatch(/--compress zstd cannot be used with --encryption-key-dir/);

    // the records as stored (in the folder or the bucket) are sealed with the key
    for (const id of [full, incr]) {
      for (const ext of ['index', 'json', 'sums']) {
        const raw = Buffer.from(await target.get(`apps/shop/volumes/data/${id}.${ext}`));
        expect([ext, raw.subarray(0, 8).toString(), raw.subarray(12, 20).toString('hex')]).toEqual([ext, 'FERRYENV', keyIdOf(Buffer.from(keyOld))]);
      }
    }
    // the standard tool opens the chain (its images as stored) with the Secret's bytes as they are
    const [, top] = await downloadImages(target, [layout.image('shop', 'data', full), layout.image('shop', 'data', incr)], path.join(dir, 'stored-chain'));
    const opts = `driver=qcow2,file.filename=${top},encrypt.key-secret=k,backing.encrypt.key-secret=k`;
    const secret = ['--object', `secret,id=k,file=${path.join(keys, 'key')}`];
    execFileSync('qemu-img', ['check', ...secret, '--image-opts', opts]);
    execFileSync('qemu-img', ['compare', ...secret, '--image-opts', opts, `driver=raw,file.filename=${snapshots[1]}`]);

    // no key, or a wrong one: a clear error naming the key id and the Secret, nothing written
    const out = path.join(dir, 'restored.raw');
    const keyless = await cli(['volume', 'restore', '--backup-id', incr, '--device', out, '--create'], env);
    expect(keyless.code).toBe(11);
    expect(keyless.last.message).toMatch(new RegExp(`is encrypted with key id ${keyIdOf(Buffer.from(keyOld))}, and no encryption key was given`));
    const wrongKeys = await secretMount(path.join(dir, 'keys-wrong'), { key: keyNew });
    const wrong = await cli(['volume', 'restore', '--backup-id', incr, '--device', out, '--create'], { ...env, FERRY_ENCRYPTION_KEY_DIR: wrongKeys });
    expect(wrong.code).toBe(11);
    expect(wrong.last.message).toContain(
      `is encrypted with key id ${keyIdOf(Buffer.from(keyOld))}, which Secret ferry-system/backup-key does not hold (it holds ${keyIdOf(Buffer.from(keyNew))})`,
    );
    await expect(fs.stat(out)).rejects.toMatchObject({ code: 'ENOENT' });

    // rotation: the Secret gets a new "key" and keeps the old one under another name
    const rotated = await secretMount(path.join(dir, 'keys-v2'), { key: keyNew, 'key-2026-01': keyOld });
    const fresh = newBackupId();
    const b3 = await cli(['volume', 'backup', '--backup-id', fresh, '--device', vol, '--commit'], { ...env, FERRY_ENCRYPTION_KEY_DIR: rotated });
    expect(b3.code).toBe(0);
    for (const [id, snap] of [[full, snapshots[0]], [incr, snapshots[1]], [fresh, snapshots[1]]]) {
      await fs.rm(out, { force: true });
      const r = await cli(['volume', 'restore', '--backup-id', id, '--device', out, '--create', '--verify-after'], { ...env, FERRY_ENCRYPTION_KEY_DIR: rotated });
      expect([id, r.code, r.last.type]).toEqual([id, 0, 'result']);
      expect(await sameBytes(out, snap)).toBe(true);
    }
    const verify = await cli(['repo', 'verify'], { ...env, FERRY_ENCRYPTION_KEY_DIR: rotated });
    expect(verify.code).toBe(0);
    for (const run of [b1, b2, b3, keyless, wrong, verify]) {
      for (const k of [keyOld, keyNew]) {
        expect(JSON.stringify(run.lines)).not.toContain(k);
        expect(run.log).not.toContain(k);
      }
    }
  });
});
