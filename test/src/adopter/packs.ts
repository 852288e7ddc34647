import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repoRoot';
import { Env, runBash } from './shellBlocks';

const run = promisify(execFile);

/** Where `npm run pack:plugins` puts the tarballs (README step 1). */
export const packDir = join(repoRoot, '.ferry/packs');

/** What the tarballs and the chart are made of: a change here means packing again. */
const packInputs = [
  ...['packages/qcow2', 'packages/repository', 'packages/datamover', 'plugins/backup-common', 'plugins/backup', 'plugins/backup-backend'].flatMap(
    p => ['src', 'package.json', 'bin', 'scripts', 'config.d.ts', 'migrations', 'crds'].map(part => `${p}/${part}`),
  ),
  'charts/ferry',
  'scripts/pack-plugins.sh',
  'scripts/pack',
  'scripts/sync-chart-crds.sh',
  'tsconfig.json',
  'package-lock.json',
];
/** Tests and their helpers are not packed: their changes need no new pack. */
const notPacked = /(\.test\.tsx?$|\/__testUtils__\/|\/e2e\/|\/testing\/|\/setupTests\.ts$)/;
const stampFile = join(packDir, '.adopter-test-inputs');

/** SHA-256 over the names and contents of the pack inputs (tracked and untracked, not ignored). */
export async function packInputsDigest(): Promise<string> {
  const { stdout } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z', '--', ...packInputs], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = [...new Set(stdout.split('\0').filter(f => f && !notPacked.test(f)))].sort();
  const hash = createHash('sha256');
  for (const file of files) {
    if (!existsSync(join(repoRoot, file))) continue; // deleted in the work tree
    hash.update(`${file}\0`).update(await readFile(join(repoRoot, file))).update('\0');
  }
  return hash.digest('hex');
}

/** The `.tgz` files in the pack folder. */
export async function packedFiles(): Promise<string[]> {
  if (!existsSync(packDir)) return [];
  return (await readdir(packDir)).filter(f => f.endsWith('.tgz')).sort();
}

/**
 * README step 1: runs the block (`npm run pack:plugins`) in the Ferry checkout unless the pack
 * folder was made from the same inputs (its stamp names their digest). Returns whether it ran.
 */
export async function ensurePacks(options: { code: string; env: Env; log: string }): Promise<{ packed: boolean }> {
  const digest = await packInputsDigest();
  const stamp = existsSync(stampFile) ? (await readFile(stampFile, 'utf8')).trim() : '';
  if (stamp === digest && (await packedFiles()).length > 0) return { packed: false };
  await runBash({ name: 'README step 1 (pack)', script: options.code, cwd: repoRoot, env: options.env, log: options.log });
  // The inputs did not change while packing, else the next run packs again.
  if ((await packInputsDigest()) === digest) await writeFile(stampFile, `${digest}\n`);
  return { packed: true };
}
