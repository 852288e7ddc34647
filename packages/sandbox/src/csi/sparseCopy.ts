import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Sparse copy of a file: `cp --sparse=always --reflink=auto` (GNU coreutils) clones when the file
 * system can, else copies only data extents (SEEK_DATA/SEEK_HOLE) and leaves holes for zeros.
 */
export async function sparseCopy(source: string, destination: string): Promise<void> {
  await execFileAsync('cp', ['--sparse=always', '--reflink=auto', '--', source, destination]);
}
