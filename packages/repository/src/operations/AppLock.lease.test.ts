import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FilesystemTarget } from '../target/FilesystemTarget';
import { AppLock } from './AppLock';
import { LockHeldError } from '../errors';

/**
 * A target standing in for an S3 server without conditional writes: create-if-absent is not
 * atomic, so the lock falls back to its write-pause-confirm lease protocol.
 */
class NonAtomicTarget extends FilesystemTarget {
  async supportsAtomicCreate() {
    return false;
  }
  async putIfAbsent(): Promise<boolean> {
    throw new Error('not available on this target');
  }
}

describe('AppLock on a target without atomic create', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-lease-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('lets exactly one of several racing writers win', async () => {
    const target = new NonAtomicTarget(dir);
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map(owner => AppLock.acquire({ target, app: 'shop', owner, confirmDelayMs: 100 })),
    );
    const won = results.filter(r => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map(r => r.reason)).toEqual([expect.any(LockHeldError), expect.any(LockHeldError)]);
    await (won[0] as PromiseFulfilledResult<AppLock>).value.check();
    await expect(AppLock.acquire({ target, app: 'shop', owner: 'd', confirmDelayMs: 10 })).rejects.toBeInstanceOf(LockHeldError);
  });
});
