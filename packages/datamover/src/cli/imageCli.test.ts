import { spawn, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppLock, FilesystemTarget, Repository, newBackupId } from '@ferry/repository';
import { startRegistry, type Registry } from '@ferry/sandbox/src/registry';
import { pushTestImage, type PushedImage } from '@ferry/sandbox/src/testImage';
import { EXIT_CODES } from '../errors';
import { rawRegistry, writeDockerConfig } from '../testing/images';

const LAUNCHER = path.resolve(__dirname, '../../bin/ferry-datamover');
jest.setTimeout(120_000);

type Line = Record<string, any>;
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(LAUNCHER, args, { env: { ...process.env, ...env }, cwd: '/' });
    let out = '';
    let stderr = '';
    child.stdout.on('data', d => (out += d));
    child.stderr.on('data', d => (stderr += d));
    child.on('error', reject);
    child.on('close', code =>
      resolve({ code, lines: out.split('\n').filter(l => l !== '').map(l => JSON.parse(l)), stderr }),
    );
  });
}

describe('ferry-datamover image commands (filesystem target)', () => {
  let scratch: string;
  let open: Registry;
  let secured: Registry;
  let dest: Registry;
  let web: PushedImage;
  let db: PushedImage;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    execFileSync(LAUNCHER, ['--help'], { stdio: 'ignore' });
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-imgcli-'));
    open = await startRegistry();
    secured = await startRegistry({ auth: { username: 'u', password: 'p@ss:word' } });
    dest = await startRegistry({ auth: { username: 'd', password: 'dest' } });
    web = await pushTestImage(open, { repository: 'demo/web', tag: '1.0' });
    db = await pushTestImage(secured, { repository: 'demo/db', tag: '2.0' });
    env = {
      FERRY_TARGET_TYPE: 'filesystem',
      FERRY_TARGET_PATH: path.join(scratch, 'repo'),
      FERRY_PROGRESS_INTERVAL_MS: '0',
      FERRY_REGISTRY_AUTH_FILE: await writeDockerConfig(scratch, [secured, dest]),
      FERRY_TERMINATION_MESSAGE_PATH: path.join(scratch, 'termination'),
    };
  }, 60_000);
  afterAll(async () => {
    for (const r of [open, secured, dest]) await r?.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('image backup (env), commit, image restore (flags), image check', async () => {
    const backupId = newBackupId();
    const b = await run(['image', 'backup'], { ...env, FERRY_APP: 'shop', FERRY_BACKUP_ID: backupId, FERRY_IMAGES: `${web.reference},${db.reference}` });
    expect(b.code).toBe(0);
    const result = b.lines[b.lines.length - 1];
    expect(result).toMatchObject({ type: 'result', operation: 'image-backup', app: 'shop', backupId });
    expect(result.images.map((i: Line) => [i.reference, i.digest, i.blobs])).toEqual([[web.reference, web.digest, 2], [db.reference, db.digest, 2]]);
    expect(result.index.key).toBe(`images/index/shop/${backupId}.json`);
    expect(b.lines.some(l => l.type === 'progress' && l.operation === 'image-backup')).toBe(true);
    expect(JSON.parse(await fs.readFile(env.FERRY_TERMINATION_MESSAGE_PATH!, 'utf8'))).toMatchObject({ operation: 'image-backup' });

    const repo = await Repository.open(new FilesystemTarget(env.FERRY_TARGET_PATH!));
    const lock = await AppLock.acquire({ target: repo.target, app: 'shop' });
    await repo.commitBackup({ app: 'shop', backupId, lock, images: result.index });
    await lock.release();

    const r = await run(['image', 'restore', '--app', 'shop', '--backup-id', backupId, '--registry', dest.host, '--repository', 'restored', '--images', db.reference], env);
    expect(r.code).toBe(0);
    expect(r.lines[r.lines.length - 1]).toMatchObject({
      type: 'result',
      operation: 'image-restore',
      images: [{ original: db.reference, restored: `${dest.host}/restored/db:2.0`, digest: db.digest, tagChanged: false, pushedBlobs: 2, skippedBlobs: 0 }],
    });
    expect((await rawRegistry(dest).manifest('restored/db', '2.0'))!.digest).toBe(db.digest);

    const c = await run(['image', 'check', '--images', `${web.reference},${open.host}/demo/nope:1`, '--timeout-seconds', '5'], env);
    expect(c.code).toBe(0);
    expect(c.lines[c.lines.length - 1]).toMatchObject({
      operation: 'image-check',
      reachable: 1,
      unreachable: 1,
      images: [{ reference: web.reference, reachable: true, digest: web.digest }, { reachable: false, code: 'REGISTRY_NOT_FOUND' }],
    });
  });

  it('every image failing exits IMAGES_FAILED with per-image errors; some failing exits 0', async () => {
    const all = await run(['image', 'backup', '--app', 'shop', '--backup-id', newBackupId(), '--images', `${open.host}/demo/nope:1`], env);
    expect(all.code).toBe(EXIT_CODES.IMAGES_FAILED);
    const last = all.lines[all.lines.length - 1];
    expect(last).toMatchObject({ type: 'error', code: 'IMAGES_FAILED', exitCode: 22 });
    expect(last.images[0]).toMatchObject({ reference: `${open.host}/demo/nope:1`, code: 'REGISTRY_NOT_FOUND' });
    expect(all.lines[all.lines.length - 2]).toMatchObject({ type: 'result', operation: 'image-backup' });
    const some = await run(['image', 'backup', '--app', 'shop', '--backup-id', newBackupId(), '--images', `${open.host}/demo/nope:1,${web.reference}`], env);
    expect(some.code).toBe(0);
    expect(some.lines[some.lines.length - 1].images.map((i: Line) => i.code)).toEqual(['REGISTRY_NOT_FOUND', undefined]);
  });

  it('a result longer than a termination message keeps the per-image outcomes there, compacted', async () => {
    const missing = Array.from({ length: 40 }, (_, i) => `${open.host}/demo/missing-image-number-${i}:1`);
    const r = await run(['image', 'backup', '--app', 'shop', '--backup-id', newBackupId(), '--images', [web.reference, ...missing].join(',')], env);
    expect(r.code).toBe(0);
    const text = await fs.readFile(env.FERRY_TERMINATION_MESSAGE_PATH!, 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    const t = JSON.parse(text);
    expect(t).toMatchObject({ type: 'result', operation: 'image-backup', truncated: true, index: r.lines[r.lines.length - 1].index });
    expect(t.images.length).toBeGreaterThanOrEqual(40);
    expect(t.images.filter((i: Line) => i.code === 'REGISTRY_NOT_FOUND')).toHaveLength(40);
  });

  it.each([
    [['image', 'backup', '--app', 'a', '--backup-id', newBackupId(), '--images', 'Bad/UPPER:1'], '--images'],
    [['image', 'backup', '--app', 'a', '--backup-id', newBackupId()], '--images'],
    [['image', 'backup', '--app', 'a', '--backup-id', newBackupId(), '--images', 'x', '--platforms', 'linux'], '--platforms'],
    [['image', 'restore', '--app', 'a', '--backup-id', newBackupId(), '--repository', 'r'], '--registry'],
    [['image', 'restore', '--app', 'a', '--backup-id', newBackupId(), '--registry', 'h:5000'], '--repository'],
    [['image', 'restore', '--app', 'a', '--backup-id', newBackupId(), '--registry', 'h:5000/x', '--repository', 'r'], '--registry'],
    [['image', 'check', '--images', 'a@sha256:123'], '--images'],
  ])('bad input %j exits 2 naming %s', async (args, flag) => {
    const r = await run(args, { ...env, FERRY_REGISTRY_AUTH_FILE: '' });
    expect(r.code).toBe(EXIT_CODES.USAGE);
    expect(r.lines[r.lines.length - 1].message).toContain(flag);
  });
});
