import { promises as fs } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AppLock,
  Repository,
  collectGarbage,
  deleteBackup,
  newBackupId,
  verifyRepository,
} from '@ferry/repository';
import { DatamoverError, toDatamoverError } from '../errors';
import { backupVolume } from '../volume/backupVolume';
import { restoreVolume } from '../volume/restoreVolume';
import { parseChangedRanges } from '../volume/changedRanges';
import { createOutput, errorLine, type Output } from './output';
import { TARGET_FLAGS, targetFromConfig } from './targetFromConfig';
import { IMAGE_FLAGS, IMAGE_USAGE, runImageCheck, runImageCommand, validateImageFlags } from './imageCommands';
import { collectImageGarbage } from '@ferry/repository';
import { ENCRYPTION_FLAGS, ENCRYPTION_USAGE, chainPassphrase, readKeyring } from './encryptionKeys';

const USAGE = `ferry-datamover <command> [flags]

  volume backup   --app A --pvc P --backup-id ID --device PATH [--parent ID]
                  [--changed-ranges FILE] [--cluster-size BYTES] [--commit]
                  [--compress deflate|zstd] [--passphrase-file FILE]  (LUKS; not both)
  volume restore  --app A --pvc P --backup-id ID --device PATH
                  [--create] [--assume-zeroed] [--verify-after] [--passphrase-file FILE]
  backup commit   --app A --backup-id ID          (manifest of every staged volume)
  backup list     [--app A]                        (apps, or backups of an app)
  backup delete   --app A --backup-id ID
  backup new-id
  repo verify     --app A [--backup-id ID] [--shallow]
  repo gc         --app A [--grace-seconds N]    (also image blobs no backup of any app needs)
${IMAGE_USAGE}

Target (flag or environment):
${Object.entries(TARGET_FLAGS)
  .map(([f, d]) => `  --${f.padEnd(22)} ${d.env.padEnd(28)} ${d.help}`)
  .join('\n')}
${ENCRYPTION_USAGE}
Each flag F also reads FERRY_<F> from the environment (e.g. FERRY_APP, FERRY_DEVICE).
Secrets come from files only; progress and the result are JSON lines on stdout.`;

const COMMAND_FLAGS = {
  app: { type: 'string' },
  pvc: { type: 'string' },
  'backup-id': { type: 'string' },
  parent: { type: 'string' },
  device: { type: 'string' },
  'changed-ranges': { type: 'string' },
  'cluster-size': { type: 'string' },
  compress: { type: 'string' },
  'passphrase-file': { type: 'string' },
  commit: { type: 'boolean' },
  create: { type: 'boolean' },
  'assume-zeroed': { type: 'boolean' },
  'verify-after': { type: 'boolean' },
  shallow: { type: 'boolean' },
  'grace-seconds': { type: 'string' },
  help: { type: 'boolean' },
  ...IMAGE_FLAGS,
  ...ENCRYPTION_FLAGS,
} as const;

type Values = Record<string, string | boolean | undefined>;

/** Runs the CLI; returns the exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: Output = createOutput(env),
  signal?: AbortSignal,
): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    const options: Record<string, { type: 'string' | 'boolean' }> = { ...COMMAND_FLAGS };
    for (const f of Object.keys(TARGET_FLAGS)) options[f] = { type: 'string' };
    ({ values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as {
      values: Values;
      positionals: string[];
    });
  } catch (e) {
    return fail(out, new DatamoverError('USAGE', `${(e as Error).message.split('\n')[0].toLowerCase()}; see --help`));
  }
  if (values.help || positionals.length === 0) {
    out.log(USAGE);
    return values.help ? 0 : 2;
  }
  const get = (flag: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string' && v !== '') return v;
    const e = env[`FERRY_${flag.toUpperCase().replace(/-/g, '_')}`];
    return e === undefined || e === '' ? undefined : e;
  };
  const need = (flag: string): string => {
    const v = get(flag);
    if (!v) throw new DatamoverError('USAGE', `--${flag} is required (or FERRY_${flag.toUpperCase().replace(/-/g, '_')})`);
    return v;
  };
  const flag = (name: string) => values[name] === true || env[`FERRY_${name.toUpperCase().replace(/-/g, '_')}`] === 'true';
  const command = positionals.join(' ');
  try {
    if (command === 'backup new-id') {
      out.line({ type: 'result', operation: 'new-id', backupId: newBackupId() });
      return 0;
    }
    const flags = { get, need, flag };
    validateImageFlags(command, flags);
    if (command === 'image check') {
      const r = await runImageCheck(flags);
      out.line(r);
      out.terminate(r);
      return 0;
    }
    const keys = await readKeyring({ dir: get('encryption-key-dir'), current: get('encryption-key'), source: get('encryption-key-source') });
    const target = await targetFromConfig(values, env);
    try {
      const repo = await Repository.open(target, {
        create: command === 'volume backup' || command === 'image backup',
        keys,
        readUnencrypted: flag('read-unencrypted'),
      });
      const progress = (e: object) => out.line(e);
      let result: object;
      switch (command) {
        case 'volume backup': {
          const rangesFile = get('changed-ranges');
          const app = need('app');
          const backupId = need('backup-id');
          const r = await backupVolume({
            repo,
            app,
            pvc: need('pvc'),
            backupId,
            parentBackupId: get('parent'),
            device: need('device'),
            changedRanges: rangesFile ? parseChangedRanges(await fs.readFile(rangesFile, 'utf8'), rangesFile) : undefined,
            clusterSize: clusterSizeFlag(get('cluster-size')),
            compression: compressFlag(get('compress'), Boolean(keys)),
            // an encrypted target's volumes are LUKS images whose passphrase is the current key
            passphrase: (await passphraseFile(get('passphrase-file'))) ?? keys?.current.secret,
            progress,
            signal,
          });
          if (flag('commit')) {
            const lock = await AppLock.acquire({ target, app });
            try {
              await repo.commitBackup({ app, backupId, lock, volumes: [{ pvc: r.pvc, record: r.record }] });
            } finally {
              await lock.release();
            }
          }
          result = { ...r, committed: flag('commit') };
          break;
        }
        case 'volume restore':
          result = await restoreVolume({
            repo,
            app: need('app'),
            pvc: need('pvc'),
            backupId: need('backup-id'),
            device: need('device'),
            create: flag('create'),
            assumeZeroed: flag('assume-zeroed'),
            verifyAfter: flag('verify-after'),
            passphrase:
              (await passphraseFile(get('passphrase-file'))) ??
              (await chainPassphrase({ repo, app: need('app'), pvc: need('pvc'), backupId: need('backup-id') })),
            progress,
          });
          break;
        case 'backup commit': {
          const app = need('app');
          const lock = await AppLock.acquire({ target, app });
          try {
            const m = await repo.commitBackup({ app, backupId: need('backup-id'), lock });
            result = { type: 'result', operation: 'backup-commit', manifest: m };
          } finally {
            await lock.release();
          }
          break;
        }
        case 'backup list': {
          const app = get('app');
          result = app
            ? { type: 'result', operation: 'backup-list', app, backups: await repo.listBackups(app) }
            : { type: 'result', operation: 'app-list', apps: await repo.listApps() };
          break;
        }
        case 'backup delete': {
          const app = need('app');
          const lock = await AppLock.acquire({ target, app });
          try {
            result = { type: 'result', operation: 'backup-delete', ...(await deleteBackup(repo, { app, backupId: need('backup-id'), lock })) };
          } finally {
            await lock.release();
          }
          break;
        }
        case 'repo verify': {
          const id = get('backup-id');
          const report = await verifyRepository(repo, { app: need('app'), backupIds: id ? [id] : undefined, shallow: flag('shallow') });
          out.line({ type: 'result', operation: 'repo-verify', ...report });
          out.terminate({ type: 'result', operation: 'repo-verify', ok: report.ok, problems: report.problems.slice(0, 10) });
          if (!report.ok) {
            const first = report.problems[0];
            return fail(out, new DatamoverError('INTEGRITY', `verify found ${report.problems.length} problem(s), first: ${first.key}: ${first.problem}`), false);
          }
          return 0;
        }
        case 'repo gc': {
          const app = need('app');
          const lock = await AppLock.acquire({ target, app });
          try {
            const grace = get('grace-seconds');
            const graceMs = grace === undefined ? undefined : Number(grace) * 1000;
            const report = await collectGarbage(repo, { app, graceMs });
            result = { type: 'result', operation: 'repo-gc', ...report, images: await collectImageGarbage(repo, { graceMs }) };
          } finally {
            await lock.release();
          }
          break;
        }
        case 'image backup':
        case 'image restore':
          result = await runImageCommand(command, { repo, flags, progress, signal });
          break;
        default:
          throw new DatamoverError('USAGE', `unknown command "${command}"; see --help`);
      }
      out.line(result);
      out.terminate(result);
      return 0;
    } finally {
      await target.close();
    }
  } catch (e) {
    return fail(out, toDatamoverError(e));
  }
}

function clusterSizeFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 4096 || n > 2 * 1024 * 1024 || (n & (n - 1)) !== 0) {
    throw new DatamoverError('USAGE', `--cluster-size ${value} must be a power of two from 4096 to 2097152`);
  }
  return n;
}

function compressFlag(value: string | undefined, encrypted: boolean): { type: 'deflate' | 'zstd' } | undefined {
  if (value === undefined) return undefined;
  if (value !== 'deflate' && value !== 'zstd') {
    throw new DatamoverError('USAGE', `--compress ${value} must be deflate or zstd`);
  }
  if (encrypted) {
    throw new DatamoverError(
      'USAGE',
      `--compress ${value} cannot be used with --encryption-key-dir: an encrypted target stores LUKS images, and qemu's format has no encrypted compressed clusters`,
    );
  }
  return { type: value };
}

/** The passphrase in a file (one trailing newline dropped); its bytes are never logged. */
async function passphraseFile(file: string | undefined): Promise<Uint8Array | undefined> {
  if (file === undefined) return undefined;
  const bytes = await fs.readFile(file).catch(e => {
    throw new DatamoverError('USAGE', `--passphrase-file ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  });
  const end = bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  if (end === 0) throw new DatamoverError('USAGE', `--passphrase-file ${file} is empty`);
  return bytes.subarray(0, end);
}

function fail(out: Output, e: DatamoverError, terminate = true): number {
  if (e.result) out.line(e.result); // per-item outcomes, before the error line
  const line = errorLine(e);
  out.line(line);
  out.log(`Failed: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
  if (terminate) out.terminate(line);
  return e.exitCode;
}
