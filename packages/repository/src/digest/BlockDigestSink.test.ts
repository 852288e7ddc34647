import { createHash, randomBytes } from 'node:crypto';
import type { PositionalSink } from '@ferry/qcow2';
import { BlockDigestSink } from './BlockDigestSink';
import { HashPool } from './HashPool';

/** An asynchronous in-memory sink (like S3's: no writeSync). */
function memorySink() {
  const chunks: Array<{ offset: number; data: Buffer }> = [];
  const sink: PositionalSink = {
    reserveHead: async () => undefined,
    write: async (data, offset) => {
      chunks.push({ offset, data: Buffer.from(data) });
      await new Promise(r => setTimeout(r, Math.random() * 2));
    },
    commit: async () => ({ size: Math.max(...chunks.map(c => c.offset + c.data.length)) }),
    abort: async () => undefined,
  };
  return sink;
}

describe('BlockDigestSink with a hash pool', () => {
  const pool = new HashPool(2);
  afterAll(() => pool.close());

  it('gives the same sums as hashing on the calling thread, the head written last', async () => {
    const B = 64 * 1024;
    const head = randomBytes(100_000); // spans two blocks
    const appends = [...Array(40).keys()].map(i => randomBytes(1000 + ((i * 7919) % 90_000)));
    const image = Buffer.concat([head, ...appends]);
    const want: Buffer[] = [];
    for (let at = 0; at < image.length; at += B) want.push(createHash('sha256').update(image.subarray(at, at + B)).digest());
    for (const hashPool of [undefined, pool]) {
      const sink = new BlockDigestSink(memorySink(), B, hashPool);
      await sink.reserveHead(head.length);
      let at = head.length;
      const reused = Buffer.alloc(100_000);
      for (const a of appends) {
        // the caller reuses its buffer once a write resolved (the QCOW2 writer does)
        a.copy(reused);
        await sink.write(reused.subarray(0, a.length), at);
        reused.fill(0xee);
        at += a.length;
      }
      await sink.write(head, 0);
      expect(await sink.commit()).toEqual({ size: image.length });
      expect(Buffer.from(sink.sums()).equals(Buffer.concat(want))).toBe(true);
    }
  });
});
