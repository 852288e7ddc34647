import { createHash } from 'node:crypto';
import type { RangeSource } from '@ferry/qcow2';
import { IntegrityError } from '../errors';
import { BLOCK_DIGEST_LENGTH } from './BlockDigestSink';

/**
 * A RangeSource that checks every byte it returns against the image's `.sums`: reads are
 * served from whole blocks, each verified when fetched and kept in a small LRU (so S3 sees
 * block-sized ranged GETs instead of many tiny ones).
 */
export class VerifiedRangeSource implements RangeSource {
  private readonly cache = new Map<number, Promise<Uint8Array>>();

  constructor(
    private readonly o: {
      source: RangeSource;
      key: string;
      size: number;
      blockSize: number;
      sums: Uint8Array;
      cacheBlocks?: number;
    },
  ) {
    const blocks = Math.ceil(o.size / o.blockSize);
    if (o.sums.length !== blocks * BLOCK_DIGEST_LENGTH) {
      throw new IntegrityError(
        o.key,
        `digest list has ${o.sums.length / BLOCK_DIGEST_LENGTH} blocks, the image needs ${blocks}`,
      );
    }
  }

  async size(): Promise<number> {
    return this.o.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.o.size) {
      throw new IntegrityError(
        this.o.key,
        `read of ${length} bytes at ${offset} goes past the end (${this.o.size} bytes)`,
      );
    }
    const B = this.o.blockSize;
    const first = Math.floor(offset / B);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / B);
    if (first === last) {
      const block = await this.block(first);
      const at = offset - first * B;
      return block.subarray(at, at + length);
    }
    const out = new Uint8Array(length);
    for (let b = first; b <= last; b++) {
      const block = await this.block(b);
      const blockStart = b * B;
      const from = Math.max(offset, blockStart);
      const to = Math.min(offset + length, blockStart + block.length);
      out.set(block.subarray(from - blockStart, to - blockStart), from - offset);
    }
    return out;
  }

  private block(index: number): Promise<Uint8Array> {
    const hit = this.cache.get(index);
    if (hit) {
      this.cache.delete(index);
      this.cache.set(index, hit);
      return hit;
    }
    const p = this.load(index);
    this.cache.set(index, p);
    p.catch(() => this.cache.delete(index));
    const max = this.o.cacheBlocks ?? 8;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
    return p;
  }

  private async load(index: number): Promise<Uint8Array> {
    const B = this.o.blockSize;
    const start = index * B;
    const data = await this.o.source.read(start, Math.min(B, this.o.size - start));
    const got = createHash('sha256').update(data).digest();
    const want = this.o.sums.subarray(index * BLOCK_DIGEST_LENGTH, (index + 1) * BLOCK_DIGEST_LENGTH);
    if (!got.equals(want)) {
      throw new IntegrityError(this.o.key, `block ${index} (bytes ${start}..${start + data.length - 1}) fails its SHA-256 check`);
    }
    return data;
  }

  close(): Promise<void> {
    return this.o.source.close();
  }
}
