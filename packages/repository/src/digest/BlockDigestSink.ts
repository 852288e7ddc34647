import { createHash, Hash } from 'node:crypto';
import type { PositionalSink } from '@ferry/qcow2';
import { HashPool } from './HashPool';

export const DEFAULT_DIGEST_BLOCK = 1024 * 1024;
export const BLOCK_DIGEST_LENGTH = 32;
/** Blocks copied for a hash pool and not digested yet, at most (write waits beyond). */
const MAX_POOLED = 8;

/**
 * Wraps a PositionalSink and computes the SHA-256 of every `blockSize` block of the final
 * object, although the head region is written last: the blocks overlapping the head are kept
 * (a copy of at most head + one block), later blocks are hashed as they stream past.
 * After `commit`, `sums()` returns the concatenated digests (the `.sums` object).
 * With a `hashPool`, streamed blocks are copied into shared buffers and hashed on its worker
 * threads instead of the calling thread (for an S3 upload, whose calling thread also signs and
 * sends the parts): at most `MAX_POOLED` blocks wait for their digest.
 */
export class BlockDigestSink implements PositionalSink {
  private headBytes = 0;
  private heldBlocks = 0;
  private held = new Uint8Array(0);
  private readonly streamed: Array<Buffer | Promise<Buffer>> = [];
  private current?: Hash;
  /** With a hash pool: the block being filled (shared memory), spare ones, digests pending. */
  private block?: Buffer;
  private readonly spare: Buffer[] = [];
  private readonly pooled: Array<Promise<unknown>> = [];
  private currentFill = 0;
  private result?: Uint8Array;
  private readonly hashPool?: HashPool;
  /** Present when the inner sink has it: the same digesting, then the inner blocking write. */
  readonly writeSync?: (data: Uint8Array, offset: number) => void;

  constructor(
    private readonly inner: PositionalSink,
    private readonly blockSize = DEFAULT_DIGEST_BLOCK,
    hashPool?: HashPool,
  ) {
    // a blocking sink's caller does nothing else meanwhile: it hashes itself
    this.hashPool = inner.writeSync ? undefined : hashPool;
    if (inner.writeSync) {
      const writeSync = inner.writeSync.bind(inner);
      this.writeSync = (data, offset) => {
        this.digest(data, offset);
        writeSync(data, offset);
      };
    }
  }

  async reserveHead(headBytes: number): Promise<void> {
    await this.inner.reserveHead(headBytes);
    this.headBytes = headBytes;
    this.heldBlocks = Math.ceil(headBytes / this.blockSize);
    this.held = new Uint8Array(this.heldBlocks * this.blockSize);
  }

  /**
   * Digests synchronously, in call order, before handing the bytes on: the QCOW2 writer issues
   * its next append before the previous one has finished, so completion order means nothing.
   */
  async write(data: Uint8Array, offset: number): Promise<void> {
    this.digest(data, offset);
    const written = this.inner.write(data, offset);
    while (this.pooled.length > MAX_POOLED) await this.pooled.shift();
    return written;
  }

  private digest(data: Uint8Array, offset: number): void {
    const heldEnd = this.held.length;
    if (offset < heldEnd) {
      this.held.set(data.subarray(0, Math.min(data.length, heldEnd - offset)), offset);
    }
    if (offset + data.length > this.headBytes) {
      // an append: hash the part beyond the held blocks
      let pos = Math.max(0, heldEnd - offset);
      while (pos < data.length) {
        const n = Math.min(data.length - pos, this.blockSize - this.currentFill);
        if (this.hashPool) {
          this.block ??= this.spare.pop() ?? HashPool.sharedBuffer(this.blockSize);
          this.block.set(data.subarray(pos, pos + n), this.currentFill);
        } else {
          this.current ??= createHash('sha256');
          this.current.update(data.subarray(pos, pos + n));
        }
        this.currentFill += n;
        pos += n;
        if (this.currentFill === this.blockSize) this.finishBlock();
      }
    }
  }

  private finishBlock(): void {
    if (this.block) {
      const block = this.block;
      const digest = this.hashPool!.sha256(block.subarray(0, this.currentFill));
      const settled = digest.then(
        () => this.spare.push(block),
        () => undefined, // reported by commit, which awaits every digest
      );
      this.pooled.push(settled);
      this.streamed.push(digest);
      this.block = undefined;
    } else {
      this.streamed.push(this.current!.digest());
      this.current = undefined;
    }
    this.currentFill = 0;
  }

  async commit(): Promise<{ size: number }> {
    const out = await this.inner.commit();
    if (this.currentFill > 0) this.finishBlock();
    const heldValid = Math.min(this.held.length, out.size);
    const heads: Buffer[] = [];
    for (let start = 0; start < heldValid; start += this.blockSize) {
      const end = Math.min(start + this.blockSize, heldValid);
      heads.push(createHash('sha256').update(this.held.subarray(start, end)).digest());
    }
    this.result = Buffer.concat([...heads, ...(await Promise.all(this.streamed))]);
    this.held = new Uint8Array(0);
    return out;
  }

  abort(): Promise<void> {
    return this.inner.abort();
  }

  /** The `.sums` bytes: SHA-256 of each block, in order. Only after commit. */
  sums(): Uint8Array {
    if (!this.result) throw new Error('sums are known only after commit');
    return this.result;
  }
}
