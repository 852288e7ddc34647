import { promises as fs, writeSync } from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import type { PositionalSink } from '../io';
import { invalidArgument } from '../format/errors';
import { FlushBehind } from './FlushBehind';

/**
 * A {@link PositionalSink} writing a local file. Bytes go to a temporary file beside the target;
 * `commit` flushes it (unless `sync: false`) and links it into place, refusing to replace an
 * existing file unless `overwrite` is set; `abort` removes the temporary file. A crash leaves
 * at most a `*.partial-*` file, never a half-written image under the final name.
 */
export class FileSink implements PositionalSink {
  private headBytes = -1;
  private appended = 0;
  private done = false;
  /** The running `fallocate`, when space was reserved up front; settles, never rejects. */
  private reserving?: Promise<boolean>;

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly options: {
      path: string;
      temporaryPath: string;
      overwrite: boolean;
    },
    /** Flushes while writing, with `sync` (else nothing is flushed). */
    private readonly flushes?: FlushBehind,
  ) {}

  static async create(options: {
    path: string;
    sync?: boolean;
    overwrite?: boolean;
    /**
     * Bytes to reserve on disk up front (the expected image size), with `fallocate(1)` of
     * util-linux running beside the writes: writing into reserved blocks costs the file system
     * much less than delayed allocation (ext4: about 40 % less CPU per byte). Best effort:
     * if the tool is missing or fails, nothing changes. The file is cut to its real size on
     * commit, so a larger estimate costs nothing.
     */
    preallocate?: number;
    /**
     * With `sync`: bytes written between flushes started in the background while writing
     * ({@link FlushBehind}; 16 MiB by default, 0 flushes only on commit).
     */
    flushBehindBytes?: number;
  }): Promise<FileSink> {
    // Unique among writers ('wx' refuses a name taken anyway), not secret: no node:crypto,
    // whose first use costs about 3 ms of start-up (OpenSSL) on every backup.
    const unique = `${process.pid.toString(36)}${Math.random()
      .toString(36)
      .slice(2, 10)}`;
    const temporaryPath = path.join(
      path.dirname(options.path),
      `.${path.basename(options.path)}.partial-${unique}`,
    );
    const handle = await fs.open(temporaryPath, 'wx');
    const sink = new FileSink(
      handle,
      {
        path: options.path,
        temporaryPath,
        overwrite: options.overwrite ?? false,
      },
      options.sync ?? true
        ? new FlushBehind(handle, { everyBytes: options.flushBehindBytes })
        : undefined,
    );
    const reserve = Math.floor(options.preallocate ?? 0);
    if (reserve > 0) {
      // Mode 0 fallocate only adds blocks where there are none: bytes written meanwhile stay.
      sink.reserving = new Promise(resolve => {
        execFile('fallocate', ['-l', String(reserve), temporaryPath], error =>
          resolve(!error),
        );
      });
    }
    return sink;
  }

  async reserveHead(headBytes: number): Promise<void> {
    if (this.headBytes >= 0)
      throw invalidArgument('reserveHead was already called');
    this.headBytes = headBytes;
    this.appended = headBytes;
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    this.admit(data, offset);
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
    this.admit(data, offset);
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

  /** Checks that a write is an append or lies inside the head, and records appends. */
  private admit(data: Uint8Array, offset: number): void {
    if (this.headBytes < 0) throw invalidArgument('write before reserveHead');
    if (offset === this.appended) {
      this.appended += data.length;
    } else if (offset + data.length > this.headBytes) {
      throw invalidArgument(
        `write of ${data.length} bytes at ${offset} is neither an append (next ${this.appended}) nor inside the head (${this.headBytes} bytes)`,
      );
    }
  }

  async commit(): Promise<{ size: number }> {
    if (this.done)
      throw invalidArgument(`sink for ${this.options.path} is already closed`);
    this.done = true;
    try {
      // The reservation may have made the file longer than what was written (even when the
      // tool failed part way): cut it to what was written.
      if (this.reserving) {
        await this.reserving;
        await this.handle.truncate(this.appended);
      }
      await this.flushes?.finish();
      const { size } = await this.handle.stat();
      await this.handle.close();
      if (this.options.overwrite) {
        await fs.rename(this.options.temporaryPath, this.options.path);
      } else {
        await fs.link(this.options.temporaryPath, this.options.path);
        await fs.unlink(this.options.temporaryPath);
      }
      return { size };
    } catch (error) {
      await this.flushes?.settle();
      await this.handle.close().catch(() => undefined);
      await fs.unlink(this.options.temporaryPath).catch(() => undefined);
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    // fallocate(1) creates the file if it is missing: let it finish before removing it.
    await this.reserving;
    await this.flushes?.settle();
    await this.handle.close().catch(() => undefined);
    await fs.unlink(this.options.temporaryPath).catch(() => undefined);
  }
}
