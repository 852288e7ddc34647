import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export async function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(
    path.join(
      process.env.FERRY_TEST_TMP ?? os.tmpdir(),
      `ferry-qcow2-${prefix}-`,
    ),
  );
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}
