import { promises as fs, writeSync } from 'node:fs';
import path from 'node:path';
import { FlushBehind, type PositionalSink } from '@ferry/qcow2';
import { InvalidInputError } from '../errors';
import { mapFsError } from './fsErrors';

/**
 * PositionalSink on a local or NFS filesystem: bytes go to a hidden temp file in the final
 * folder, which is fsynced and renamed onto the final name on commit (then the folder is
 * fsynced), so the final name only ever shows a complete image. A crash leaves only a temp
 * file, which garbage collection removes. While the image is written, what is written so far is
 * flushed in the background every 16 MiB (`FlushBehind`), so the commit's fsync has little left
 * to write (on NFS: the COMMITs overlap the writes).
 */
export class FileSink implements PositionalSink {
  private handle?: fs.FileHandle;
  private flushes?: FlushBehind;
  private headBytes = -1;
  private appended = 0;
  private done = false;

  constructor(
    private readonly options: { finalPath: string; tempPath: string; key: string; root: string },
  ) {}

  static tempNameFor(finalPath: string, token: string): string {
    return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.tmp-${token}`);
  }

  async reserveHead(headBytes: number): Promise<void> {
    if (this.headBytes >= 0) throw new InvalidInputError('reserveHead called twice');
    if (!Number.isSafeInteger(headBytes) || headBytes < 0) {
      throw new InvalidInputError(`head size ${headBytes} is not a non-negative integer`);
    }
    try {
      await fs.mkdir(path.dirname(this.options.tempPath), { recursive: true });
      this.handle = await fs.open(this.options.tempPath, 'wx');
      this.flushes = new FlushBehind(this.handle);
    } catch (e) {
      throw mapFsError(e, this.options.key, this.options.root);
    }
    this.headBytes = headBytes;
    this.appended = headBytes;
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    const handle = this.requireOpen();
    this.place(data, offset);
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw mapFsError(e, this.options.key, this.options.root);
    }
    this.flushes?.wrote(data.length);
  }

  /**
   * `write` on the calling thread (no thread-pool round trip); blocks until done. Used by the
   * QCOW2 writer in blocking mode (a datamover process that does nothing else).
   */
  writeSync(data: Uint8Array, offset: number): void {
    const handle = this.requireOpen();
    this.place(data, offset);
    try {
      let done = 0;
      while (done < data.length) {
        done += writeSync(handle.fd, data, done, data.length - done, offset + done);
      }
    } catch (e) {
      throw mapFsError(e, this.options.key, this.options.root);
    }
    this.flushes?.wrote(data.length);
  }

  /** Checks that a write lands inside the head or is the next append, and counts it. */
  private place(data: Uint8Array, offset: number): void {
    if (offset + data.length <= this.headBytes) {
      // head write: anywhere inside the reserved region
    } else if (offset === this.appended) {
      this.appended += data.length;
    } else {
      throw new InvalidInputError(
        `write at ${offset} is neither inside the head (< ${this.headBytes}) nor the next append (${this.appended})`,
      );
    }
  }

  async commit(): Promise<{ size: number }> {
    const handle = this.requireOpen();
    try {
      // The head region may never have been written in full: make the size explicit.
      await handle.truncate(this.appended);
      await this.flushes!.finish({ metadata: true });
      await handle.close();
      this.handle = undefined;
      await fs.rename(this.options.tempPath, this.options.finalPath);
      await syncDir(path.dirname(this.options.finalPath));
    } catch (e) {
      await this.abort().catch(() => undefined);
      throw mapFsError(e, this.options.key, this.options.root);
    }
    this.done = true;
    return { size: this.appended };
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.flushes?.settle();
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await fs.rm(this.options.tempPath, { force: true });
  }

  private requireOpen(): fs.FileHandle {
    if (this.done) throw new InvalidInputError('sink already committed or aborted');
    if (!this.handle) throw new InvalidInputError('reserveHead must be called before write');
    return this.handle;
  }
}

/** fsync of a directory so a rename inside it survives a power loss (ignored where unsupported). */
export async function syncDir(dir: string): Promise<void> {
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(dir, 'r');
    await h.sync();
  } catch {
    // some filesystems (and NFS clients) refuse fsync on directories; rename is still atomic
  } finally {
    await h?.close().catch(() => undefined);
  }
}
