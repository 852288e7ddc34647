import { promises as fs, writeSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PositionalSink } from '../io';
import { invalidArgument } from '../format/errors';

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

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly options: {
      path: string;
      temporaryPath: string;
      sync: boolean;
      overwrite: boolean;
    },
  ) {}

  static async create(options: {
    path: string;
    sync?: boolean;
    overwrite?: boolean;
  }): Promise<FileSink> {
    const temporaryPath = path.join(
      path.dirname(options.path),
      `.${path.basename(options.path)}.partial-${randomBytes(6).toString(
        'hex',
      )}`,
    );
    const handle = await fs.open(temporaryPath, 'wx');
    return new FileSink(handle, {
      path: options.path,
      temporaryPath,
      sync: options.sync ?? true,
      overwrite: options.overwrite ?? false,
    });
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
      if (this.options.sync) await this.handle.datasync();
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
      await fs.unlink(this.options.temporaryPath).catch(() => undefined);
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.close().catch(() => undefined);
    await fs.unlink(this.options.temporaryPath).catch(() => undefined);
  }
}
