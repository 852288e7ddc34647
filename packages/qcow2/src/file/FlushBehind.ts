import type { promises as fs } from 'node:fs';

/** Bytes written between two background flushes, by default. */
export const DEFAULT_FLUSH_BEHIND_BYTES = 16 * 1024 * 1024;

/**
 * Flushes a file being written while it is written: each time `everyBytes` more bytes were
 * written and no flush is running, an `fdatasync` starts on the thread pool. The final flush
 * (`finish`) then only has the last bytes and the metadata left to write, instead of the whole
 * file at once after the last write: the disk works while the writer still reads and checks.
 * Measured on a 4 GiB incremental backup writing 56 MiB: the final flush went from 31–37 ms to
 * about 6 ms, and the whole run about 20 ms shorter (bench/HISTORY.md, "What made it faster").
 *
 * A background flush that fails is reported by `finish`, never lost.
 */
export class FlushBehind {
  private readonly everyBytes: number;
  private sinceLast = 0;
  private running?: Promise<void>;
  private failure?: unknown;

  constructor(
    private readonly handle: fs.FileHandle,
    options: {
      /** Bytes between background flushes; 0 turns them off (only `finish` flushes). */
      everyBytes?: number;
    } = {},
  ) {
    this.everyBytes = options.everyBytes ?? DEFAULT_FLUSH_BEHIND_BYTES;
  }

  /** Records `bytes` written; may start a background flush. */
  wrote(bytes: number): void {
    this.sinceLast += bytes;
    if (this.everyBytes <= 0 || this.running) return;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    this.running = this.handle.datasync().then(
      () => {
        this.running = undefined;
      },
      error => {
        this.failure ??= error;
        this.running = undefined;
      },
    );
  }

  /** Waits for a running background flush, without flushing again or reporting its failure. */
  async settle(): Promise<void> {
    await this.running;
  }

  /**
   * Waits for the background flush, then flushes everything (`fdatasync`, or `fsync` with
   * `metadata`); rejects if any flush failed.
   */
  async finish(options: { metadata?: boolean } = {}): Promise<void> {
    await this.settle();
    if (this.failure !== undefined) throw this.failure;
    if (options.metadata) await this.handle.sync();
    else await this.handle.datasync();
  }
}
