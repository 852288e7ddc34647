import type { AsyncQueue } from '../io/AsyncQueue';

/**
 * Small chunks, allocated anew (the upload may keep a chunk after taking it: S3 gathers them
 * into parts), so each is dropped before V8's next minor GC: 256 KiB chunks took ~1 s of a
 * backup to fill and outlived it, piling up until a full GC (16 MiB for a 64 GiB volume).
 */
const FLUSH_BYTES = 16 * 1024;

/** Gathers the new index's digests, in cluster order, into 16 KiB chunks for its upload stream. */
export class IndexOutput {
  private buffer = Buffer.alloc(FLUSH_BYTES);
  private fill = 0;

  constructor(private readonly queue: AsyncQueue) {}

  async push(digests: Uint8Array): Promise<void> {
    let pos = 0;
    while (pos < digests.length) {
      const n = Math.min(digests.length - pos, this.buffer.length - this.fill);
      this.buffer.set(digests.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === this.buffer.length) await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.fill === 0) return;
    const out = this.buffer.subarray(0, this.fill);
    this.buffer = Buffer.alloc(FLUSH_BYTES);
    this.fill = 0;
    await this.queue.push(out);
  }
}
