import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where a volume's image of one backup lies in a filesystem target (DESIGN §5). */
export type StoredVolume = { repositoryDir: string; app: string; pvc: string; backupId: string };

export const storedImagePath = (at: StoredVolume) =>
  path.join(at.repositoryDir, 'apps', at.app, 'volumes', at.pvc, `${at.backupId}.qcow2`);

/**
 * Hydrates a volume's chain as a backup stored it, with `qemu-img convert` (the oracle, not
 * Ferry's reader), into a raw file in a temporary folder; `fn` gets its path; the file is gone
 * afterwards.
 */
export async function withHydrated<T>(at: StoredVolume, fn: (rawFile: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-hydrated-'));
  const raw = path.join(dir, `${at.pvc}-${at.backupId}.raw`);
  try {
    await run('qemu-img', ['convert', '-O', 'raw', storedImagePath(at), raw]);
    return await fn(raw);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The bytes of a volume as a backup stored it (its chain hydrated by qemu-img). */
export const hydratedBytes = (at: StoredVolume) => withHydrated(at, raw => fs.readFile(raw));

/**
 * A file's content in an ext4 image, read by e2fsprogs' `debugfs` (no mount): undefined when the
 * file does not exist. Throws on any other complaint of debugfs (e.g. not an ext4 image).
 */
export async function ext4File(image: string, file: string): Promise<string | undefined> {
  const { stdout, stderr } = await run('debugfs', ['-R', `cat ${file}`, image], { maxBuffer: 64 * 1024 * 1024 });
  const complaints = stderr.split('\n').filter(line => line.trim() && !/^debugfs \d/.test(line));
  if (complaints.some(line => line.includes('File not found by ext2_lookup'))) return undefined;
  if (complaints.length) throw new Error(`debugfs cat ${file} in ${image}: ${complaints.join('; ')}`);
  return stdout;
}

/** `e2fsck -fn` of an ext4 image (read-only, forced full check): throws with its report unless clean. */
export async function expectCleanExt4(image: string): Promise<void> {
  try {
    await run('e2fsck', ['-fn', image]);
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`e2fsck -fn ${image} found problems: ${(stdout ?? '').trim()} ${(stderr ?? '').trim()}`);
  }
}
