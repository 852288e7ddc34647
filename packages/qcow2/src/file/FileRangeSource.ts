import { promises as fs, readSync } from 'node:fs';
import type { RangeSource } from '../io';
import { invalidArgument } from '../format/errors';

/**
 * A {@link RangeSource} over a local file or block device. Block devices report size 0 through
 * `stat`, so pass `size` for them. Reading past the end is an error, never zeros.
 */
export class FileRangeSource implements RangeSource {
  private constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
    private readonly bytes: number,
  ) {}

  static async open(options: {
    path: string;
    size?: number;
  }): Promise<FileRangeSource> {
    const handle = await fs.open(options.path, 'r');
    try {
      const size = options.size ?? (await handle.stat()).size;
      return new FileRangeSource(options.path, handle, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The open file's descriptor, for blocking reads from worker threads. */
  get fd(): number {
    return this.handle.fd;
  }

  async size(): Promise<number> {
    return this.bytes;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const target = Buffer.allocUnsafe(length);
    await this.readInto(target, offset);
    return target;
  }

  async readInto(target: Uint8Array, offset: number): Promise<void> {
    this.checkRange(target, offset);
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await this.handle.read(
        target,
        done,
        target.length - done,
        offset + done,
      );
      if (bytesRead === 0) {
        throw invalidArgument(
          `${this.path} ended at ${offset + done} while reading ${
            target.length
          } bytes at ${offset}`,
        );
      }
      done += bytesRead;
    }
  }

  /** `readInto` on the calling thread (no thread-pool round trip); blocks until done. */
  readIntoSync(target: Uint8Array, offset: number): void {
    this.checkRange(target, offset);
    let done = 0;
    while (done < target.length) {
      const bytesRead = readSync(
        this.handle.fd,
        target,
        done,
        target.length - done,
        offset + done,
      );
      if (bytesRead === 0) {
        throw invalidArgument(
          `${this.path} ended at ${offset + done} while reading ${
            target.length
          } bytes at ${offset}`,
        );
      }
      done += bytesRead;
    }
  }

  private checkRange(target: Uint8Array, offset: number): void {
    if (offset < 0 || offset + target.length > this.bytes) {
      throw invalidArgument(
        `read of ${target.length} bytes at ${offset} is past the end of ${this.path} (${this.bytes} bytes)`,
      );
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
