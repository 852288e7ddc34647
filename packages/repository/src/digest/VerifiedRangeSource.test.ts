import { createHash, randomBytes } from 'node:crypto';
import type { RangeSource } from '@ferry/qcow2';
import { IntegrityError } from '../errors';
import { HashPool } from './HashPool';
import { VerifiedRangeSource } from './VerifiedRangeSource';

const B = 4096;

/** An in-memory source that counts its reads; `readInto` optional. */
function memorySource(bytes: Buffer, withReadInto: boolean) {
  const reads: number[] = [];
  const source: RangeSource = {
    size: async () => bytes.length,
    read: async (offset, length) => {
      reads.push(offset);
      return Buffer.from(bytes.subarray(offset, offset + length));
    },
    close: async () => undefined,
  };
  if (withReadInto) {
    source.readInto = async (target, offset) => {
      reads.push(offset);
      await new Promise(r => setTimeout(r, Math.random() * 3));
      target.set(bytes.subarray(offset, offset + target.length));
    };
  }
  return { source, reads };
}

function sumsOf(bytes: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += B) out.push(createHash('sha256').update(bytes.subarray(at, at + B)).digest());
  return Buffer.concat(out);
}

describe('VerifiedRangeSource', () => {
  const pool = new HashPool(2);
  afterAll(() => pool.close());
  const bytes = randomBytes(20 * B + 1000); // 21 blocks, the last one short

  it.each([
    { readInto: true, hashPool: false },
    { readInto: false, hashPool: false },
    { readInto: true, hashPool: true },
    { readInto: true, hashPool: true, blocksPerRead: 3 },
  ])('returns the right bytes for sequential, spanning and random reads (readInto $readInto, hash pool $hashPool, blocks per read $blocksPerRead)', async o => {
    const { source, reads } = memorySource(bytes, o.readInto);
    const perRead = o.blocksPerRead ?? 1;
    const v = new VerifiedRangeSource({ source, key: 'k', size: bytes.length, blockSize: B, sums: sumsOf(bytes), hashPool: o.hashPool ? pool : undefined, blocksPerRead: perRead });
    // front to back in odd pieces: every block is fetched exactly once (read-ahead included)
    for (let at = 0; at < bytes.length; at += 3000) {
      const n = Math.min(3000, bytes.length - at);
      expect(Buffer.from(await v.read(at, n)).equals(bytes.subarray(at, at + n))).toBe(true);
    }
    expect([...reads].sort((a, b) => a - b)).toEqual([...Array(Math.ceil(21 / perRead)).keys()].map(i => i * perRead * B));
    // concurrent reads across blocks, and random ones
    const pieces = await Promise.all([...Array(40).keys()].map(async () => {
      const at = Math.floor(Math.random() * (bytes.length - 10_000));
      const target = Buffer.alloc(10_000);
      await v.readInto!(target, at);
      return target.equals(bytes.subarray(at, at + 10_000));
    }));
    expect(pieces.every(Boolean)).toBe(true);
    await expect(v.read(bytes.length - 10, 11)).rejects.toThrow(IntegrityError);
    await v.close();
  });

  it('fails a read of a damaged block naming it, and serves the other blocks (a damaged block read ahead is no unhandled error)', async () => {
    const damaged = Buffer.from(bytes);
    damaged[5 * B + 17] ^= 1;
    const { source } = memorySource(damaged, true);
    const v = new VerifiedRangeSource({ source, key: 'img', size: bytes.length, blockSize: B, sums: sumsOf(bytes), hashPool: pool });
    // block 4 reads ahead 5 and 6: the damage surfaces only when block 5 is asked for
    expect(Buffer.from(await v.read(4 * B, 100)).equals(bytes.subarray(4 * B, 4 * B + 100))).toBe(true);
    await expect(v.read(5 * B + 10, 10)).rejects.toThrow(/object img is corrupt: block 5 \(bytes 20480\.\.24575\) fails its SHA-256 check/);
    await expect(v.read(5 * B - 10, 20)).rejects.toThrow(/block 5/);
    expect(Buffer.from(await v.read(6 * B, B)).equals(bytes.subarray(6 * B, 7 * B))).toBe(true);
    await v.close();
  });

  it('refuses a digest list of the wrong length', () => {
    const { source } = memorySource(bytes, true);
    expect(() => new VerifiedRangeSource({ source, key: 'img', size: bytes.length, blockSize: B, sums: Buffer.alloc(32) })).toThrow(/digest list has 1 blocks, the image needs 21/);
  });
});
