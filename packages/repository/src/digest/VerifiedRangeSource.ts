import { createHash } from 'node:crypto';
import type { RangeSource } from '@ferry/qcow2';
import { IntegrityError } from '../errors';
import { BlockCache, type CachedSegment } from './BlockCache';
import { BLOCK_DIGEST_LENGTH } from './BlockDigestSink';
import type { HashPool } from './HashPool';

let nextSourceId = 0;

/**
 * A RangeSource that checks every byte it returns against the image's `.sums`: reads are
 * served from whole segments of blocks (one block by default), each block verified when its
 * segment is fetched, and segments are kept in a small LRU (so S3 sees block-sized reads
 * instead of many tiny ones).
 *
 * Segments live in reused buffers (`BlockCache`: no allocation per segment, a restore reads
 * hundreds of MiB), are read with the source's `readInto` when it has one, and, with a
 * `hashPool`, hashed on its worker threads, so several segments are read and checked at once,
 * beside the caller's own work. A miss on segment i also starts segments i+1 .. i+`readAhead`
 * (images are read front to back, layer by layer; on S3 that keeps its read cursor streaming).
 * A shared budget for all layers of a chain was tried: the layers are read interleaved, and
 * below one segment in flight per layer they evicted each other's read-ahead (thrashing).
 */
export class VerifiedRangeSource implements RangeSource {
  private readonly cache: BlockCache;
  private readonly id = `${nextSourceId++}:`;
  private readonly segmentBytes: number;
  private readonly segments: number;
  private readonly readAhead: number;

  constructor(
    private readonly o: {
      source: RangeSource;
      key: string;
      size: number;
      blockSize: number;
      sums: Uint8Array;
      /** Blocks fetched per read (one segment); 1 by default. */
      blocksPerRead?: number;
      /** Segments read ahead of a miss; 2 by default (3 segments are kept). */
      readAhead?: number;
      /** Hash blocks on these worker threads (the cache must then be shared memory). */
      hashPool?: HashPool;
    },
  ) {
    const blocks = Math.ceil(o.size / o.blockSize);
    if (o.sums.length !== blocks * BLOCK_DIGEST_LENGTH) {
      throw new IntegrityError(
        o.key,
        `digest list has ${o.sums.length / BLOCK_DIGEST_LENGTH} blocks, the image needs ${blocks}`,
      );
    }
    this.segmentBytes = Math.max(1, o.blocksPerRead ?? 1) * o.blockSize;
    this.segments = Math.ceil(o.size / this.segmentBytes);
    this.readAhead = Math.max(0, o.readAhead ?? 2);
    this.cache = new BlockCache({ budgetBytes: (1 + this.readAhead) * this.segmentBytes, shared: Boolean(o.hashPool) });
  }

  async size(): Promise<number> {
    return this.o.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(out, offset);
    return out;
  }

  async readInto(target: Uint8Array, offset: number): Promise<void> {
    const length = target.length;
    if (offset < 0 || offset + length > this.o.size) {
      throw new IntegrityError(
        this.o.key,
        `read of ${length} bytes at ${offset} goes past the end (${this.o.size} bytes)`,
      );
    }
    if (length === 0) return;
    const S = this.segmentBytes;
    const first = Math.floor(offset / S);
    const last = Math.floor((offset + length - 1) / S);
    for (let s = first; s <= last; s++) {
      const segment = this.segment(s, s === first);
      segment.pins++;
      try {
        await segment.ready;
        const start = s * S;
        const from = Math.max(offset, start);
        const to = Math.min(offset + length, start + segment.length);
        segment.buffer.copy(target, from - offset, from - start, to - start);
      } finally {
        segment.pins--;
      }
    }
  }

  /** The cached segment, loaded (and its successors read ahead) when missing. */
  private segment(index: number, mayReadAhead: boolean): CachedSegment {
    const hit = this.cache.get(this.id + index);
    if (hit) return hit;
    const segment = this.load(index, this.cache.take(this.segmentBytes, false)!);
    if (mayReadAhead) {
      for (let next = index + 1; next <= index + this.readAhead && next < this.segments; next++) {
        if (this.cache.has(this.id + next)) continue;
        const buffer = this.cache.take(this.segmentBytes, true);
        if (!buffer) break; // every buffer is busy: no read-ahead now
        this.load(next, buffer);
      }
    }
    this.cache.trim();
    return segment;
  }

  private load(index: number, buffer: Buffer): CachedSegment {
    const start = index * this.segmentBytes;
    const length = Math.min(this.segmentBytes, this.o.size - start);
    const key = this.id + index;
    const segment: CachedSegment = { buffer, length, ready: Promise.resolve(), settled: false, pins: 0 };
    segment.ready = (async () => {
      const view = buffer.subarray(0, length);
      if (this.o.source.readInto) await this.o.source.readInto(view, start);
      else view.set(await this.o.source.read(start, length));
      const B = this.o.blockSize;
      const checks: Array<Promise<void>> = [];
      for (let at = 0; at < length; at += B) {
        const block = (start + at) / B;
        const bytes = view.subarray(at, Math.min(at + B, length));
        const check = (got: Buffer) => {
          const want = this.o.sums.subarray(block * BLOCK_DIGEST_LENGTH, (block + 1) * BLOCK_DIGEST_LENGTH);
          if (!got.equals(want)) {
            throw new IntegrityError(this.o.key, `block ${block} (bytes ${start + at}..${start + at + bytes.length - 1}) fails its SHA-256 check`);
          }
        };
        if (this.o.hashPool) checks.push(this.o.hashPool.sha256(bytes).then(check));
        else check(createHash('sha256').update(bytes).digest());
      }
      await Promise.all(checks);
    })();
    segment.ready.then(
      () => {
        segment.settled = true;
      },
      () => {
        // a failed segment is forgotten (its buffer too); the reader that waits gets the error
        segment.settled = true;
        this.cache.drop(key, segment);
      },
    );
    this.cache.put(key, segment);
    return segment;
  }

  close(): Promise<void> {
    this.cache.forget(this.id);
    return this.o.source.close();
  }
}
