import type { RangeSource } from '../io';
import { readSourceInto } from '../reader/readSource';

/**
 * Reads `[0, size)` of a source in fixed chunks, one chunk ahead of the consumer, with two
 * reused buffers: the next read runs while the current chunk is processed.
 */
export class SequentialReader {
  private readonly buffers: [Uint8Array, Uint8Array];
  private next = 0;
  private started = false;
  private ahead?: { promise: Promise<void>; buffer: Uint8Array; offset: number; length: number };

  constructor(
    private readonly options: {
      read: (target: Uint8Array, offset: number) => Promise<void>;
      size: number;
      chunkBytes: number;
    },
  ) {
    this.buffers = [new Uint8Array(options.chunkBytes), new Uint8Array(options.chunkBytes)];
  }

  static forSource(options: { source: RangeSource; size: number; chunkBytes: number }): SequentialReader {
    return new SequentialReader({
      read: (target, offset) => readSourceInto(options.source, target, offset),
      size: options.size,
      chunkBytes: options.chunkBytes,
    });
  }

  /**
   * The next chunk, or undefined at the end. The returned bytes stay valid until the call
   * after next (two buffers alternate).
   */
  async nextChunk(): Promise<{ offset: number; bytes: Uint8Array } | undefined> {
    const current = this.started ? this.ahead : this.start(0);
    this.started = true;
    if (!current) return undefined;
    await current.promise;
    this.ahead = this.start(current.offset + current.length);
    return { offset: current.offset, bytes: current.buffer.subarray(0, current.length) };
  }

  private start(offset: number): SequentialReader['ahead'] {
    if (offset >= this.options.size) return undefined;
    const length = Math.min(this.options.chunkBytes, this.options.size - offset);
    const buffer = this.buffers[this.next];
    this.next = 1 - this.next;
    const promise = this.options.read(buffer.subarray(0, length), offset);
    promise.catch(() => undefined); // awaited by nextChunk
    return { promise, buffer, offset, length };
  }
}
