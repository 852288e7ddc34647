import { promises as fs, writeSync } from 'node:fs';
import type { DiskSink } from '../io';
import { FlushBehind } from './FlushBehind';

/**
 * A {@link DiskSink} writing a virtual disk to a local path. A regular file is emptied and
 * sized to `size`, so it is sparse and unwritten ranges read as zeros (zero runs are skipped).
 * A block device keeps its size and content, so zeros must be written, unless the caller knows
 * it reads as zeros (`zeroesUnwritten: true`, e.g. a freshly provisioned thin volume).
 */
export class FileDiskSink implements DiskSink {
  /** Flushes while writing, with `sync` (else nothing is flushed). */
  private readonly flushes?: FlushBehind;

  private constructor(
    private readonly handle: fs.FileHandle,
    readonly zeroesUnwritten: boolean,
    sync: boolean,
  ) {
    if (sync) this.flushes = new FlushBehind(handle);
  }

  static async open(options: {
    path: string;
    size: number;
    zeroesUnwritten?: boolean;
    sync?: boolean;
  }): Promise<FileDiskSink> {
    const existing = await fs.stat(options.path).catch(() => undefined);
    if (existing?.isBlockDevice()) {
      const handle = await fs.open(options.path, 'r+');
      return new FileDiskSink(
        handle,
        options.zeroesUnwritten ?? false,
        options.sync ?? true,
      );
    }
    const handle = await fs.open(options.path, 'w');
    await handle.truncate(options.size);
    return new FileDiskSink(
      handle,
      options.zeroesUnwritten ?? true,
      options.sync ?? true,
    );
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(
        data,
        done,
        data.length - done,
        offset + done,
      );
      done += bytesWritten;
    }
    this.flushes?.wrote(data.length);
  }

  /** `write` on the calling thread (no thread-pool round trip); blocks until done. */
  writeSync(data: Uint8Array, offset: number): void {
    let done = 0;
    while (done < data.length) {
      done += writeSync(
        this.handle.fd,
        data,
        done,
        data.length - done,
        offset + done,
      );
    }
    this.flushes?.wrote(data.length);
  }

  async close(): Promise<void> {
    try {
      await this.flushes?.finish();
    } finally {
      await this.handle.close();
    }
  }
}
