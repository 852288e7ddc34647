import { createHash } from 'node:crypto';
import type { RangeSource } from '@ferry/qcow2';
import { IntegrityError } from '../errors';
import { BLOCK_DIGEST_LENGTH } from './BlockDigestSink';
import { HashPool } from './HashPool';

/** A cached block: its bytes once `ready` resolved; pinned while a reader waits for it. */
interface Block {
  buffer: Buffer;
  length: number;
  ready: Promise<void>;
  settled: boolean;
  pins: number;
}

/**
 * A RangeSource that checks every byte it returns against the image's `.sums`: reads are
 * served from whole blocks, each verified when fetched and kept in a small LRU (so S3 sees
 * block-sized ranged GETs instead of many tiny ones).
 *
 * Blocks live in a fixed set of reused buffers (no allocation per block: a restore reads
 * hundreds of MiB) and are read with the source's `readInto` when it has one. With a
 * `hashPool` they are hashed on its worker threads, so several blocks are read and checked at
 * once, beside the caller's own work; without one, on the calling thread. A miss on block i
 * also starts blocks i+1 .. i+`readAhead` (images are read front to back, layer by layer).
 */
export class VerifiedRangeSource implements RangeSource {
  private readonly blocks = new Map<number, Block>();
  private readonly spare: Buffer[] = [];
  private readonly capacity: number;
  private readonly readAhead: number;

  constructor(
    private readonly o: {
      source: RangeSource;
      key: string;
      size: number;
      blockSize: number;
      sums: Uint8Array;
      /** Blocks kept (and buffers allocated at most); 3 by default. */
      cacheBlocks?: number;
      /** Blocks read ahead of a miss; 2 by default. */
      readAhead?: number;
      /** Hash blocks on these worker threads (block buffers are then shared memory). */
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
    this.capacity = Math.max(1, o.cacheBlocks ?? 3);
    this.readAhead = Math.min(this.capacity - 1, Math.max(0, o.readAhead ?? 2));
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
    const B = this.o.blockSize;
    const first = Math.floor(offset / B);
    const last = Math.floor((offset + length - 1) / B);
    for (let b = first; b <= last; b++) {
      const block = this.block(b, b === first);
      block.pins++;
      try {
        await block.ready;
        const blockStart = b * B;
        const from = Math.max(offset, blockStart);
        const to = Math.min(offset + length, blockStart + block.length);
        block.buffer.copy(target, from - offset, from - blockStart, to - blockStart);
      } finally {
        block.pins--;
      }
    }
  }

  /** The cached block, loaded (and its successors read ahead) when missing. */
  private block(index: number, mayReadAhead: boolean): Block {
    const hit = this.blocks.get(index);
    if (hit) {
      this.blocks.delete(index);
      this.blocks.set(index, hit);
      return hit;
    }
    const block = this.load(index, this.takeBuffer()!);
    if (mayReadAhead) {
      const blockCount = Math.ceil(this.o.size / this.o.blockSize);
      for (let next = index + 1; next <= index + this.readAhead && next < blockCount; next++) {
        if (this.blocks.has(next)) continue;
        const buffer = this.takeBuffer(true);
        if (!buffer) break; // every buffer is in use: no read-ahead now
        this.load(next, buffer);
      }
    }
    return block;
  }

  /**
   * A buffer for a new block: a spare one, one not allocated yet, or the least recently used
   * block's that nobody waits for. Read-ahead takes only free ones (`optional`); a block
   * somebody asked for gets a new buffer when every other is busy.
   */
  private takeBuffer(optional = false): Buffer | undefined {
    const spare = this.spare.pop();
    if (spare) return spare;
    if (this.blocks.size < this.capacity) return this.newBuffer();
    for (const [index, block] of this.blocks) {
      if (block.pins > 0 || !block.settled) continue;
      this.blocks.delete(index);
      return block.buffer;
    }
    return optional ? undefined : this.newBuffer();
  }

  private newBuffer(): Buffer {
    return this.o.hashPool ? HashPool.sharedBuffer(this.o.blockSize) : Buffer.allocUnsafeSlow(this.o.blockSize);
  }

  private load(index: number, buffer: Buffer): Block {
    const B = this.o.blockSize;
    const start = index * B;
    const length = Math.min(B, this.o.size - start);
    const block: Block = { buffer, length, ready: Promise.resolve(), settled: false, pins: 0 };
    block.ready = (async () => {
      const view = buffer.subarray(0, length);
      if (this.o.source.readInto) await this.o.source.readInto(view, start);
      else view.set(await this.o.source.read(start, length));
      const got = this.o.hashPool ? await this.o.hashPool.sha256(view) : createHash('sha256').update(view).digest();
      const want = this.o.sums.subarray(index * BLOCK_DIGEST_LENGTH, (index + 1) * BLOCK_DIGEST_LENGTH);
      if (!got.equals(want)) {
        throw new IntegrityError(this.o.key, `block ${index} (bytes ${start}..${start + length - 1}) fails its SHA-256 check`);
      }
    })();
    block.ready.then(
      () => {
        block.settled = true;
      },
      () => {
        // a failed block is forgotten (its buffer too); the reader that waits for it gets the error
        block.settled = true;
        if (this.blocks.get(index) === block) this.blocks.delete(index);
      },
    );
    this.blocks.set(index, block);
    // keep at most `capacity` blocks: drop settled, unpinned ones beyond it (their buffers spare)
    if (this.blocks.size > this.capacity) {
      for (const [i, b] of this.blocks) {
        if (this.blocks.size <= this.capacity) break;
        if (b.pins > 0 || !b.settled || i === index) continue;
        this.blocks.delete(i);
        this.spare.push(b.buffer);
      }
    }
    return block;
  }

  close(): Promise<void> {
    this.blocks.clear();
    this.spare.length = 0;
    return this.o.source.close();
  }
}
