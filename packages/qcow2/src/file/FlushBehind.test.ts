import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { fillRandom, prng } from '../testing/volumes';
import { FileSink } from './FileSink';
import { FlushBehind } from './FlushBehind';

/** A file handle whose datasync calls are recorded and settled by the test. */
function fakeHandle() {
  const calls: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const syncs: string[] = [];
  const handle = {
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        syncs.push('datasync');
        calls.push({ resolve, reject });
      }),
    sync: () =>
      new Promise<void>((resolve, reject) => {
        syncs.push('sync');
        calls.push({ resolve, reject });
      }),
  } as unknown as fs.FileHandle;
  return { handle, calls, syncs };
}

/** Lets settled promises run their callbacks. */
const tick = () => new Promise(resolve => setImmediate(resolve));

describe('FlushBehind', () => {
  it('starts one background flush per threshold crossed, never two at once, and flushes again on finish', async () => {
    const { handle, calls } = fakeHandle();
    const flushes = new FlushBehind(handle, { everyBytes: 100 });
    flushes.wrote(60);
    expect(calls).toHaveLength(0);
    flushes.wrote(40);
    expect(calls).toHaveLength(1);
    flushes.wrote(500); // one is running: none more
    expect(calls).toHaveLength(1);
    calls[0].resolve();
    await tick();
    flushes.wrote(100);
    expect(calls).toHaveLength(2);
    const finished = flushes.finish();
    await tick();
    expect(calls).toHaveLength(2); // finish waits for the running one first
    calls[1].resolve();
    await tick();
    expect(calls).toHaveLength(3);
    calls[2].resolve();
    await finished;
  });

  it('reports a background flush that failed on finish, without flushing again', async () => {
    const { handle, calls } = fakeHandle();
    const flushes = new FlushBehind(handle, { everyBytes: 10 });
    flushes.wrote(10);
    calls[0].reject(new Error('EIO: i/o error, fdatasync'));
    await tick();
    flushes.wrote(10); // a new one may start: the failure is kept
    calls[1].resolve();
    await expect(flushes.finish()).rejects.toThrow('EIO');
    expect(calls).toHaveLength(2);
  });

  it('finishes with fsync instead of fdatasync when metadata is asked for', async () => {
    const { handle, calls, syncs } = fakeHandle();
    const flushes = new FlushBehind(handle, { everyBytes: 10 });
    flushes.wrote(10);
    calls[0].resolve();
    const finished = flushes.finish({ metadata: true });
    await tick();
    calls[1].resolve();
    await finished;
    expect(syncs).toEqual(['datasync', 'sync']);
  });

  it('with everyBytes 0 only flushes on finish; settle does not flush', async () => {
    const { handle, calls } = fakeHandle();
    const flushes = new FlushBehind(handle, { everyBytes: 0 });
    flushes.wrote(1024 ** 3);
    await flushes.settle();
    expect(calls).toHaveLength(0);
    const finished = flushes.finish();
    await tick();
    expect(calls).toHaveLength(1);
    calls[0].resolve();
    await finished;
  });

  it('a FileSink flushing every 256 KiB while written commits every byte, in place', async () => {
    const dir = await makeTempDir('flush-behind');
    try {
      const target = path.join(dir, 'image');
      const bytes = new Uint8Array(1024 * 1024 + 512);
      fillRandom(prng(3), bytes);
      const sink = await FileSink.create({
        path: target,
        flushBehindBytes: 256 * 1024,
      });
      await sink.reserveHead(4096);
      for (let at = 4096; at < bytes.length; at += 100_000) {
        const part = bytes.subarray(at, Math.min(bytes.length, at + 100_000));
        if (at % 200_000 === 4096) sink.writeSync(part, at);
        else await sink.write(part, at);
      }
      await sink.write(bytes.subarray(0, 4096), 0);
      expect(await sink.commit()).toEqual({ size: bytes.length });
      expect(Buffer.compare(await fs.readFile(target), bytes)).toBe(0);
      expect(await fs.readdir(dir)).toEqual(['image']);
    } finally {
      await removeDir(dir);
    }
  });
});
