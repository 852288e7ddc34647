import { spawn, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FilesystemTarget, Repository, S3Target, newBackupId, verifyRepository } from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { makeVolume, sameBytes } from '../testing/volumes';
import { EXIT_CODES } from '../errors';

const MiB = 1024 * 1024;
const LAUNCHER = path.resolve(__dirname, '../../bin/ferry-datamover');
jest.setTimeout(240_000);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: Array<Record<string, any>>;
  stderr: string;
}

/** Runs the launcher; `killWhen` gets each JSON line and may ask for a SIGKILL. */
function run(args: string[], env: NodeJS.ProcessEnv, killWhen?: (line: Record<string, any>) => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(LAUNCHER, args, { env: { ...process.env, ...env }, cwd: '/' });
    const lines: Array<Record<string, any>> = [];
    let buf = '';
    let stderr = '';
    child.stdout.on('data', d => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (killWhen?.(line)) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', d => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, lines, stderr }));
  });
}

beforeAll(() => {
  // build the bundle once, as the first pod on a node would
  execFileSync(LAUNCHER, ['--help'], { stdio: 'ignore' });
});

describe.each(testTargetKinds())('ferry-datamover CLI on a $name target', kind => {
  let env: NodeJS.ProcessEnv;
  let target: FilesystemTarget | S3Target;
  beforeAll(async () => {
    await kind.setup();
    target = (await kind.make({})) as FilesystemTarget | S3Target;
    env = { FERRY_TARGET_TYPE: kind.name, FERRY_PROGRESS_INTERVAL_MS: '0' };
    if (target instanceof FilesystemTarget) {
      env.FERRY_TARGET_PATH = target.description.replace('file://', '');
    } else {
      const s = kind.server!;
      const creds = path.join(kind.scratch, 'secret');
      await fs.mkdir(creds);
      await fs.writeFile(path.join(creds, 'accessKeyId'), `${s.accessKeyId}\n`);
      await fs.writeFile(path.join(creds, 'secretAccessKey'), s.secretAccessKey);
      const bucket = /^s3:\/\/([^/]+)\//.exec(target.description)![1];
      Object.assign(env, {
        FERRY_S3_BUCKET: bucket,
        FERRY_S3_PREFIX: 'repo',
        FERRY_S3_ENDPOINT: s.endpoint,
        FERRY_S3_REGION: s.region,
        FERRY_S3_FORCE_PATH_STYLE: 'true',
        FERRY_S3_CREDENTIALS_DIR: creds,
        FERRY_S3_PART_SIZE: String(5 * MiB),
      });
    }
  }, 60_000);
  afterAll(async () => {
    await target.close();
    await kind.teardown();
  });

  it('survives kill -9 during the upload: nothing committed, verify clean, the rerun succeeds', async () => {
    const vol = path.join(kind.scratch, 'big.raw');
    await makeVolume(vol, 96 * MiB, { extents: 400, maxExtent: 1024 * 1024 });
    const id = newBackupId();
    const args = ['volume', 'backup', '--app', 'web', '--pvc', 'data', '--backup-id', id, '--device', vol, '--commit'];
    const killed = await run(args, env, l => l.type === 'progress' && l.phase === 'read' && l.bytesRead >= 24 * MiB);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.lines.some(l => l.type === 'result')).toBe(false);
    const repo = await Repository.open(target);
    expect(await repo.listBackups('web')).toEqual([]);
    expect(await target.head(`apps/web/volumes/data/${id}.qcow2`)).toBeUndefined();
    const report = await verifyRepository(repo, { app: 'web' });
    expect(report.ok).toBe(true);
    expect(report.backups).toEqual([]);

    const again = await run(args, env);
    expect(again.code).toBe(0);
    const result = again.lines[again.lines.length - 1];
    expect(result).toMatchObject({ type: 'result', operation: 'volume-backup', backupId: id, kind: 'full', committed: true });
    expect(await repo.listBackups('web')).toEqual([id]);
    const listed = await run(['backup', 'list', '--app', 'web'], env);
    expect(listed.lines[0]).toEqual({ type: 'result', operation: 'backup-list', app: 'web', backups: [id] });

    // the killed run's leftovers (temp file / multipart upload) go with gc
    const gc = await run(['repo', 'gc', '--app', 'web', '--grace-seconds', '0'], env);
    expect(gc.code).toBe(0);
    // the killed run was writing the image and the digest index side by side
    expect(gc.lines[0].abortedUploads).toContain(`apps/web/volumes/data/${id}.qcow2`);
    const incomplete = [];
    for await (const u of target.listIncomplete('apps/')) incomplete.push(u);
    expect(incomplete).toEqual([]);

    const termination = path.join(kind.scratch, 'termination-log');
    const out = path.join(kind.scratch, 'restored.raw');
    const restored = await run(
      ['volume', 'restore', '--app', 'web', '--pvc', 'data', '--backup-id', id, '--device', out, '--create', '--verify-after'],
      { ...env, FERRY_TERMINATION_MESSAGE_PATH: termination },
    );
    expect(restored.code).toBe(0);
    expect(await sameBytes(out, vol)).toBe(true);
    const phases = restored.lines.filter(l => l.type === 'progress').map(l => l.phase);
    expect(phases).toEqual(expect.arrayContaining(['prepare', 'write', 'verify', 'done']));
    const message = JSON.parse(await fs.readFile(termination, 'utf8'));
    expect(message).toMatchObject({ type: 'result', operation: 'volume-restore', backupId: id, virtualSize: 96 * MiB, verifiedAfter: true });
    const verify = await run(['repo', 'verify', '--app', 'web'], env);
    expect(verify.code).toBe(0);
    expect(verify.lines[0]).toMatchObject({ ok: true, problems: [], uncommitted: [] });
  });

  it('stops on SIGTERM: the upload is aborted, nothing is left to collect', async () => {
    const vol = path.join(kind.scratch, 'term.raw');
    await makeVolume(vol, 64 * MiB, { extents: 300, maxExtent: 1024 * 1024 });
    const id = newBackupId();
    const child = spawn(LAUNCHER, ['volume', 'backup', '--app', 'term', '--pvc', 'data', '--backup-id', id, '--device', vol], {
      env: { ...process.env, ...env },
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', d => {
      out += d;
      if (!sent && /"phase":"read"/.test(out)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise(r => child.on('close', r));
    const last = JSON.parse(out.trim().split('\n').pop()!);
    expect({ code, last: last.code }).toEqual({ code: EXIT_CODES.INTERRUPTED, last: 'INTERRUPTED' });
    const incomplete = [];
    for await (const u of target.listIncomplete('apps/term/')) incomplete.push(u.key);
    expect(incomplete).toEqual([]);
    expect(await target.head(`apps/term/volumes/data/${id}.qcow2`)).toBeUndefined();
  });

  it('exits with a distinct code per failure, and writes it to the termination message', async () => {
    const vol = path.join(kind.scratch, 'small.raw');
    await makeVolume(vol, 2 * MiB, { extents: 4, maxExtent: 65536 });
    const termination = path.join(kind.scratch, 'termination-err');
    const base = ['volume', 'backup', '--app', 'api', '--pvc', 'data'];
    const missing = await run([...base, '--backup-id', newBackupId(), '--device', '/dev/ferry-nope'], { ...env, FERRY_TERMINATION_MESSAGE_PATH: termination });
    expect(missing.code).toBe(EXIT_CODES.DEVICE_MISSING);
    expect(JSON.parse(await fs.readFile(termination, 'utf8'))).toMatchObject({ type: 'error', code: 'DEVICE_MISSING', exitCode: 12 });

    const parent = await run([...base, '--backup-id', newBackupId(), '--device', vol, '--parent', newBackupId()], env);
    expect(parent.code).toBe(EXIT_CODES.PARENT_UNUSABLE);
    expect(parent.lines[parent.lines.length - 1]).toMatchObject({ code: 'PARENT_UNUSABLE', hint: expect.stringContaining('full backup') });

    const id = newBackupId();
    expect((await run([...base, '--backup-id', id, '--device', vol, '--commit'], env)).code).toBe(0);
    const tiny = path.join(kind.scratch, 'tiny.raw');
    await fs.writeFile(tiny, Buffer.alloc(MiB));
    const small = await run(['volume', 'restore', '--app', 'api', '--pvc', 'data', '--backup-id', id, '--device', tiny], env);
    expect(small.code).toBe(EXIT_CODES.DEVICE_TOO_SMALL);

    const secretFlag = await run([...base, '--backup-id', id, '--device', vol, '--s3-secret-access-key', 'x'], env);
    expect(secretFlag.code).toBe(EXIT_CODES.USAGE);

    // target-specific failures: S3 credentials and network; a folder without a repository
    const wrong = path.join(kind.scratch, 'wrong');
    await fs.mkdir(wrong, { recursive: true });
    await fs.writeFile(path.join(wrong, 'accessKeyId'), 'nobody');
    await fs.writeFile(path.join(wrong, 'secretAccessKey'), 'not-the-secret');
    const cases: Array<[NodeJS.ProcessEnv, number]> =
      kind.name === 's3'
        ? [
            [{ FERRY_S3_CREDENTIALS_DIR: wrong }, EXIT_CODES.CREDENTIALS_INVALID],
            [{ FERRY_S3_ENDPOINT: 'http://127.0.0.1:9' }, EXIT_CODES.TARGET_UNREACHABLE],
          ]
        : [[{ FERRY_TARGET_PATH: path.join(kind.scratch, 'no-repo-here') }, EXIT_CODES.NOT_FOUND]];
    for (const [extra, code] of cases) {
      const r = await run(['backup', 'list', '--app', 'api'], { ...env, ...extra });
      expect({ extra, code: r.code }).toEqual({ extra, code });
    }
  });
});
