import type { DiskSink, PositionalSink, RangeSource } from '../io';

export class MemoryRangeError extends Error {}

/** An in-memory RangeSource for unit tests and fuzzing; records the largest read. */
export class MemorySource implements RangeSource {
  largestRead = 0;
  reads = 0;

  constructor(readonly bytes: Uint8Array) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.reads++;
    this.largestRead = Math.max(this.largestRead, length);
    if (!(offset >= 0 && length >= 0 && offset + length <= this.bytes.length)) {
      throw new MemoryRangeError(
        `read of ${length} bytes at ${offset} is past the end (${this.bytes.length} bytes)`,
      );
    }
    return this.bytes.slice(offset, offset + length);
  }

  async close(): Promise<void> {}
}

/** An in-memory PositionalSink that checks the append/head contract. */
export class MemorySink implements PositionalSink {
  private chunks: Uint8Array[] = [];
  private head = new Uint8Array(0);
  private appended = -1;
  committed?: Uint8Array;
  aborted = false;

  async reserveHead(headBytes: number): Promise<void> {
    this.head = new Uint8Array(headBytes);
    this.appended = headBytes;
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    if (offset === this.appended) {
      this.chunks.push(data.slice());
      this.appended += data.length;
    } else if (offset + data.length <= this.head.length) {
      this.head.set(data, offset);
    } else {
      throw new Error(
        `write at ${offset} is neither an append nor inside the head`,
      );
    }
  }

  async commit(): Promise<{ size: number }> {
    const all = new Uint8Array(this.appended);
    all.set(this.head);
    let at = this.head.length;
    for (const chunk of this.chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    this.committed = all;
    return { size: all.length };
  }

  async abort(): Promise<void> {
    this.aborted = true;
  }
}

/** An in-memory DiskSink. */
export class MemoryDiskSink implements DiskSink {
  readonly bytes: Uint8Array;

  constructor(size: number, readonly zeroesUnwritten: boolean, fill = 0) {
    this.bytes = new Uint8Array(size).fill(fill);
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    this.bytes.set(data, offset);
  }

  async close(): Promise<void> {}
}
