import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The committed backups of an application in a filesystem repository (ids sort by time). */
export async function committedBackups(repositoryDir: string, app: string): Promise<string[]> {
  return (await readdir(join(repositoryDir, 'apps', app, 'backups'))).sort();
}

/** A volume's image of one backup on a filesystem target (its backing files sit beside it). */
export function backupImage(options: { repositoryDir: string; app: string; pvc: string; backupId: string }): string {
  return join(options.repositoryDir, 'apps', options.app, 'volumes', options.pvc, `${options.backupId}.qcow2`);
}

/**
 * `qemu-img compare` (the oracle) of a backup's QCOW2 chain, hydrated by qemu-img through its
 * backing files, with a raw volume file: `identical` when every byte of the virtual disk is equal.
 */
export function compareChainWithVolume(image: string, volumeFile: string): Promise<{ identical: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', image, volumeFile], (error, stdout, stderr) => {
      const code = error ? (error as { code?: number }).code : 0;
      if (code === 0 || code === 1) resolve({ identical: code === 0, output: `${stdout}${stderr}`.trim() });
      else reject(new Error(`qemu-img compare ${image} ${volumeFile} failed (${String(code)}): ${stderr.trim() || String(error)}`));
    });
  });
}
