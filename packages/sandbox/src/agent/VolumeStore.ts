import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const handlePattern = /^[a-z0-9][a-z0-9.-]{0,250}$/;

function checkHandle(handle: string, what: string) {
  if (!handlePattern.test(handle)) throw new Error(`${what} "${handle}" is not a valid sandbox handle`);
}

/**
 * Sparse copy of a file: `cp --sparse=always --reflink=auto` (GNU coreutils) clones when the file
 * system can, else copies only data extents (SEEK_DATA/SEEK_HOLE) and leaves holes for zeros.
 */
export async function sparseCopy(source: string, destination: string): Promise<void> {
  await execFileAsync('cp', ['--sparse=always', '--reflink=auto', '--', source, destination]);
}

/**
 * The sandbox's storage: every volume is a sparse file `volumes/<volumeHandle>.img` and every
 * snapshot a sparse copy `snapshots/<snapshotHandle>.img`, both under the sandbox's data folder.
 * A Filesystem-mode volume mounted into a process pod also gets a directory
 * `volumes/<volumeHandle>.files/` (see README: its content is not part of snapshots).
 */
export class VolumeStore {
  readonly volumesDir: string;
  readonly snapshotsDir: string;

  constructor(dataDir: string) {
    this.volumesDir = path.join(dataDir, 'volumes');
    this.snapshotsDir = path.join(dataDir, 'snapshots');
    fs.mkdirSync(this.volumesDir, { recursive: true });
    fs.mkdirSync(this.snapshotsDir, { recursive: true });
  }

  volumeFile(volumeHandle: string): string {
    checkHandle(volumeHandle, 'volume handle');
    return path.join(this.volumesDir, `${volumeHandle}.img`);
  }

  volumeFilesDir(volumeHandle: string): string {
    checkHandle(volumeHandle, 'volume handle');
    const dir = path.join(this.volumesDir, `${volumeHandle}.files`);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  snapshotFile(snapshotHandle: string): string {
    checkHandle(snapshotHandle, 'snapshot handle');
    return path.join(this.snapshotsDir, `${snapshotHandle}.img`);
  }

  /** Creates an all-zero sparse volume (idempotent: an existing one is kept). */
  async createVolume(volumeHandle: string, sizeBytes: number): Promise<void> {
    const file = this.volumeFile(volumeHandle);
    if (fs.existsSync(file)) return;
    const temporary = `${file}.creating`;
    await fs.promises.writeFile(temporary, '');
    await fs.promises.truncate(temporary, sizeBytes);
    await fs.promises.rename(temporary, file);
  }

  /** Creates a volume holding a copy of `source` (a snapshot or another volume), grown to `sizeBytes`. */
  async createVolumeFrom(volumeHandle: string, source: string, sizeBytes: number): Promise<void> {
    const file = this.volumeFile(volumeHandle);
    if (fs.existsSync(file)) return;
    const temporary = `${file}.creating`;
    await fs.promises.rm(temporary, { force: true });
    await sparseCopy(source, temporary);
    const { size } = await fs.promises.stat(temporary);
    if (sizeBytes > size) await fs.promises.truncate(temporary, sizeBytes);
    await fs.promises.rename(temporary, file);
  }

  /** Takes a sparse copy of a volume; returns its size in bytes (idempotent). */
  async snapshotVolume(volumeHandle: string, snapshotHandle: string): Promise<number> {
    const target = this.snapshotFile(snapshotHandle);
    if (!fs.existsSync(target)) {
      const source = this.volumeFile(volumeHandle);
      if (!fs.existsSync(source)) throw new Error(`volume ${volumeHandle} has no backing file ${source}`);
      const temporary = `${target}.creating`;
      await fs.promises.rm(temporary, { force: true });
      await sparseCopy(source, temporary);
      await fs.promises.rename(temporary, target);
    }
    return (await fs.promises.stat(target)).size;
  }

  async deleteVolume(volumeHandle: string): Promise<void> {
    await fs.promises.rm(this.volumeFile(volumeHandle), { force: true });
    await fs.promises.rm(path.join(this.volumesDir, `${volumeHandle}.files`), { recursive: true, force: true });
  }

  async deleteSnapshot(snapshotHandle: string): Promise<void> {
    await fs.promises.rm(this.snapshotFile(snapshotHandle), { force: true });
  }
}
