import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newBackupId } from '@ferry/repository';
import { makeVolume, sameBytes } from '../testing/volumes';
import { main } from './main';

jest.setTimeout(120_000);

/** Runs the CLI in-process; returns the exit code, the JSON lines and the log text. */
async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const lines: Array<Record<string, any>> = [];
  let log = '';
  const code = await main(args, env, { line: o => lines.push(JSON.parse(JSON.stringify(o))), log: m => (log += `${m}\n`), terminate: () => undefined });
  return { code, lines, log, last: lines[lines.length - 1] };
}

describe('volume backup/restore flags for compression and encryption', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-protect-cli-'));
    await fs.mkdir(path.join(dir, 'repo'));
    env = { FERRY_TARGET_TYPE: 'filesystem', FERRY_TARGET_PATH: path.join(dir, 'repo'), FERRY_APP: 'shop', FERRY_PVC: 'data' };
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('backs up with --passphrase-file and restores only with it; the passphrase never shows in the output', async () => {
    const vol = path.join(dir, 'vol.raw');
    await makeVolume(vol, 8 * 1024 * 1024, { extents: 10, maxExtent: 256 * 1024 });
    const secret = 'a passphrase only the file holds';
    const file = path.join(dir, 'passphrase');
    await fs.writeFile(file, `${secret}\n`, { mode: 0o600 });
    const id = newBackupId();
    const backup = await cli(['volume', 'backup', '--backup-id', id, '--device', vol, '--passphrase-file', file, '--commit'], env);
    expect(backup.code).toBe(0);
    const out = path.join(dir, 'restored.raw');
    const refused = await cli(['volume', 'restore', '--backup-id', id, '--device', out, '--create'], env);
    expect(refused.code).toBe(11);
    expect(refused.last).toMatchObject({ type: 'error', code: 'CREDENTIALS_INVALID' });
    const restored = await cli(['volume', 'restore', '--backup-id', id, '--device', out, '--create'], { ...env, FERRY_PASSPHRASE_FILE: file });
    expect(restored.code).toBe(0);
    expect(await sameBytes(out, vol)).toBe(true);
    for (const run of [backup, refused, restored]) {
      expect(JSON.stringify(run.lines)).not.toContain(secret);
      expect(run.log).not.toContain(secret);
    }
  });

  it('refuses a bad --compress value, an unreadable passphrase file and both together, as usage errors', async () => {
    const vol = path.join(dir, 'vol2.raw');
    await makeVolume(vol, 1024 * 1024, { extents: 2, maxExtent: 64 * 1024 });
    const base = ['volume', 'backup', '--backup-id', newBackupId(), '--device', vol];
    const lz4 = await cli([...base, '--compress', 'lz4'], env);
    expect(lz4.code).toBe(2);
    expect(lz4.last.message).toBe('--compress lz4 must be deflate or zstd');
    const missing = await cli([...base, '--passphrase-file', path.join(dir, 'nope')], env);
    expect(missing.code).toBe(2);
    expect(missing.last.message).toMatch(/--passphrase-file .*nope cannot be read: ENOENT/);
    const file = path.join(dir, 'p2');
    await fs.writeFile(file, 'x');
    const both = await cli([...base, '--compress', 'zstd', '--passphrase-file', file], env);
    expect(both.code).toBe(2);
    expect(both.last.message).toMatch(/compression and encryption cannot be combined/);
    const zstd = await cli([...base, '--compress', 'zstd'], env);
    expect(zstd.code).toBe(0);
  });
});
