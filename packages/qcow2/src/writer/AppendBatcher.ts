import type { PositionalSink } from '../io';

/** In blocking mode, appends of at least this many bytes are written without a copy. */
const BLOCKING_DIRECT_BYTES = 64 * 1024;

/**
 * Gathers the writer's many small appends (clusters, L2 tables) into large sequential sink
 * writes. Two buffers alternate: one fills while the other is being written, so the caller's
 * work overlaps the sink's I/O and memory stays at two batches. Appends always reach the sink
 * in offset order.
 */
export class AppendBatcher {
  private readonly sink: PositionalSink;
  private readonly buffers: [Uint8Array, Uint8Array];
  private readonly pending: [
    Promise<void> | undefined,
    Promise<void> | undefined,
  ] = [undefined, undefined];
  private current = 0;
  private fill = 0;
  /** Sink offset of the first byte of the current buffer. */
  private bufferStart: number;

  private readonly directBytes: number;
  /** The sink's `writeSync` when blocking I/O was asked for and the sink has it. */
  private readonly writeSync?: (data: Uint8Array, offset: number) => void;

  constructor(options: {
    sink: PositionalSink;
    start: number;
    batchBytes: number;
    directBytes?: number;
    /** Write with the sink's `writeSync` (if it has one): each append is done when it returns. */
    blocking?: boolean;
  }) {
    this.sink = options.sink;
    if (options.blocking && options.sink.writeSync)
      this.writeSync = options.sink.writeSync.bind(options.sink);
    // Blocking writes cost no thread hand-off, so smaller runs are written straight from the
    // caller's buffer rather than copied into the batch.
    this.directBytes =
      options.directBytes ??
      (this.writeSync
        ? BLOCKING_DIRECT_BYTES
        : Math.max(512 * 1024, options.batchBytes / 8));
    this.bufferStart = options.start;
    const first = new Uint8Array(options.batchBytes);
    // Blocking mode never has a batch in flight: one buffer is enough.
    this.buffers = [
      first,
      this.writeSync ? first : new Uint8Array(options.batchBytes),
    ];
  }

  /** Sink offset the next appended byte will land at. */
  get position(): number {
    return this.bufferStart + this.fill;
  }

  /**
   * Appends `data`; the caller may reuse `data` as soon as the returned promise resolves.
   * Small appends are copied into the batch; large ones (at least `directBytes`) are written
   * straight from the caller's memory after the batch so far, saving a copy.
   */
  async append(data: Uint8Array): Promise<void> {
    if (data.length >= this.directBytes) {
      if (this.fill > 0) await this.rotate();
      const offset = this.bufferStart;
      this.bufferStart += data.length;
      if (this.writeSync) this.writeSync(data, offset);
      else await this.sink.write(data, offset);
      return;
    }
    let from = 0;
    while (from < data.length) {
      const buffer = this.buffers[this.current];
      const take = Math.min(buffer.length - this.fill, data.length - from);
      buffer.set(
        take === data.length ? data : data.subarray(from, from + take),
        this.fill,
      );
      this.fill += take;
      from += take;
      if (this.fill === buffer.length) await this.rotate();
    }
  }

  /** Appends `count` zero bytes. */
  async appendZeros(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      const buffer = this.buffers[this.current];
      const take = Math.min(buffer.length - this.fill, left);
      buffer.fill(0, this.fill, this.fill + take);
      this.fill += take;
      left -= take;
      if (this.fill === buffer.length) await this.rotate();
    }
  }

  /** Writes out what is buffered and waits for every write to finish. */
  async flush(): Promise<void> {
    if (this.fill > 0) await this.rotate();
    await Promise.all(this.pending);
  }

  private async rotate(): Promise<void> {
    const index = this.current;
    const data = this.buffers[index].subarray(0, this.fill);
    if (this.writeSync) {
      this.writeSync(data, this.bufferStart);
      this.bufferStart += this.fill;
      this.fill = 0;
      return;
    }
    const write = this.sink.write(data, this.bufferStart);
    write.catch(() => undefined); // surfaced by the next await of this buffer or by flush()
    this.pending[index] = write;
    this.bufferStart += this.fill;
    this.fill = 0;
    this.current = 1 - index;
    // The other buffer may still be in flight: wait before filling it again.
    const previous = this.pending[this.current];
    if (previous) {
      this.pending[this.current] = undefined;
      await previous;
    }
  }
}
