import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlockDigestSink } from '../digest/BlockDigestSink';
import { FilesystemTarget } from './FilesystemTarget';

/**
 * Blocking writes (the QCOW2 writer's `blocking` mode, used by the datamover on a folder target):
 * the same bytes and the same block digests as the asynchronous path, the same refusals.
 */
describe('FileSink and BlockDigestSink writeSync', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-writesync-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('writes the head last and appends like write, with equal sums', async () => {
    const target = new FilesystemTarget(dir);
    const head = randomBytes(3000);
    const appends = [randomBytes(700_000), randomBytes(1_500_000), randomBytes(10)];
    const results: Array<{ bytes: Buffer; sums: Uint8Array }> = [];
    for (const blocking of [false, true]) {
      const key = `img-${blocking}.qcow2`;
      const sink = new BlockDigestSink(await target.openSink(key), 1024 * 1024);
      expect(typeof sink.writeSync).toBe('function');
      await sink.reserveHead(head.length);
      let at = head.length;
      for (const a of appends) {
        if (blocking) sink.writeSync!(a, at);
        else await sink.write(a, at);
        at += a.length;
      }
      if (blocking) sink.writeSync!(head, 0);
      else await sink.write(head, 0);
      expect(await sink.commit()).toEqual({ size: at });
      results.push({ bytes: await fs.readFile(path.join(dir, key)), sums: sink.sums() });
    }
    expect(results[1].bytes.equals(results[0].bytes)).toBe(true);
    expect(results[1].bytes.equals(Buffer.concat([Buffer.from(head), ...appends]))).toBe(true);
    expect(Buffer.from(results[1].sums).equals(Buffer.from(results[0].sums))).toBe(true);
    expect(results[1].sums.length).toBe(3 * 32);
  });

  it('refuses a blocking write that is neither in the head nor the next append', async () => {
    const sink = await new FilesystemTarget(dir).openSink('bad.qcow2');
    await sink.reserveHead(100);
    expect(() => sink.writeSync!(Buffer.alloc(10), 500)).toThrow(/neither inside the head/);
    await sink.abort();
    expect((await fs.readdir(dir)).filter(f => f.includes('bad'))).toEqual([]);
  });
});
