import { randomBytes } from 'node:crypto';
import { testTargetKinds } from '../testing/testTargets';
import { S3RangeSource } from './S3RangeSource';
import type { S3Target } from './S3Target';
import { CURSOR_GET_BYTES } from './S3ReadCursor';

const MiB = 1024 * 1024;
jest.setTimeout(120_000);

/** Reads through S3RangeSource's cursor on the sandbox's real S3 server (versitygw). */
describe('S3 read cursor', () => {
  const kind = testTargetKinds().find(k => k.name === 's3')!;
  let target: S3Target;
  const bytes = randomBytes(CURSOR_GET_BYTES + 9 * MiB + 12345);
  beforeAll(async () => {
    await kind.setup();
    target = (await kind.make()) as S3Target;
    await target.put('obj', bytes);
  }, 60_000);
  afterAll(() => kind.teardown());

  const open = async () => (await target.openSource('obj')) as S3RangeSource;

  it('reads front to back in pieces through one GET per 64 MiB, skipping small gaps in the stream', async () => {
    const source = await open();
    let at = 0;
    for (let step = 0; at < bytes.length; step++) {
      const n = Math.min(bytes.length - at, 700_001 + (step % 3) * 300_000);
      const gap = step % 5 === 4 ? 100_000 : 0; // forward jumps read and dropped
      if (at + gap + n > bytes.length) break;
      at += gap;
      const got = Buffer.alloc(n);
      await source.readInto!(got, at);
      expect(got.equals(bytes.subarray(at, at + n))).toBe(true);
      at += n;
    }
    expect(source.requests).toBe(2);
    await source.close();
  });

  it('serves concurrent, backward and far reads with new GETs, every byte right', async () => {
    const source = await open();
    const reads = [5 * MiB, 1000, 70 * MiB, 3 * MiB + 7, 30 * MiB, 0, bytes.length - 5000].map(offset => ({ offset, length: Math.min(2 * MiB, bytes.length - offset) }));
    const got = await Promise.all(reads.map(async r => Buffer.from(await source.read(r.offset, r.length))));
    got.forEach((g, i) => expect(g.equals(bytes.subarray(reads[i].offset, reads[i].offset + reads[i].length))).toBe(true));
    await expect(source.read(bytes.length - 10, 11)).rejects.toThrow(/past the end/);
    await source.close();
  });

  it('fails a read when the object was replaced after it was opened (If-Match)', async () => {
    const source = await open();
    await target.put('obj', randomBytes(bytes.length));
    await expect(source.read(0, 1000)).rejects.toThrow();
    await source.close();
  });
});
