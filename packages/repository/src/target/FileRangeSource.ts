import { promises as fs } from 'node:fs';
import type { RangeSource } from '@ferry/qcow2';
import { IntegrityError } from '../errors';
import { mapFsError } from './fsErrors';

/** RangeSource over a file: positional reads; a short read is an error, never zeros. */
export class FileRangeSource implements RangeSource {
  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly bytes: number,
    private readonly key: string,
    private readonly root: string,
  ) {}

  static async open(options: { path: string; key: string; root: string }): Promise<FileRangeSource> {
    try {
      const handle = await fs.open(options.path, 'r');
      const stat = await handle.stat();
      return new FileRangeSource(handle, stat.size, options.key, options.root);
    } catch (e) {
      throw mapFsError(e, options.key, options.root);
    }
  }

  async size(): Promise<number> {
    return this.bytes;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(out, offset);
    return out;
  }

  /** Reads exactly `target.length` bytes at `offset` into `target` (no allocation). */
  async readInto(target: Uint8Array, offset: number): Promise<void> {
    const out = target;
    const length = target.length;
    if (offset < 0 || offset + length > this.bytes) {
      throw new IntegrityError(
        this.key,
        `read of ${length} bytes at ${offset} goes past the end (${this.bytes} bytes)`,
      );
    }
    let done = 0;
    try {
      while (done < length) {
        const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new IntegrityError(this.key, `file ended at ${offset + done} while reading`);
        }
        done += bytesRead;
      }
    } catch (e) {
      throw mapFsError(e, this.key, this.root);
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
