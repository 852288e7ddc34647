import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository's root folder: the nearest ancestor of the working directory with workspaces. */
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).workspaces) {
      return dir;
    }
    if (dirname(dir) === dir) {
      throw new Error(`no npm workspace root above ${start}`);
    }
  }
}

export const repoRoot = findRepoRoot(process.cwd());
