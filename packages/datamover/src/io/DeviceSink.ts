import { promises as fs } from 'node:fs';
import { FlushBehind, type DiskSink } from '@ferry/qcow2';
import { DatamoverError } from '../errors';
import { Device } from './Device';

/**
 * Where a restore writes: a block device (kept as is; zero runs are written unless the caller
 * says the device reads as zeros), an existing file standing in for a device (emptied in place
 * and re-extended to its size, so it is sparse and keeps its size), or a new file (created at
 * the virtual size). The target must be at least as large as the virtual disk. What is written
 * is flushed in the background every 16 MiB (`FlushBehind`), so the final flush on `close` has
 * little left to write.
 */
export class DeviceSink implements DiskSink {
  private readonly flushes: FlushBehind;

  private constructor(
    private readonly handle: fs.FileHandle,
    readonly zeroesUnwritten: boolean,
    readonly path: string,
    readonly size: number,
  ) {
    this.flushes = new FlushBehind(handle);
  }

  static async open(o: { path: string; virtualSize: number; assumeZeroed?: boolean; create?: boolean }) {
    const stat = await fs.stat(o.path).catch(() => undefined);
    if (!stat) {
      if (!o.create) throw new DatamoverError('DEVICE_MISSING', `device ${o.path} does not exist`);
      const h = await fs.open(o.path, 'wx');
      await h.truncate(o.virtualSize);
      return new DeviceSink(h, true, o.path, o.virtualSize);
    }
    const device = await Device.open({ path: o.path, write: true });
    if (device.size < o.virtualSize) {
      await device.close();
      throw new DatamoverError(
        'DEVICE_TOO_SMALL',
        `device ${o.path} has ${device.size} bytes, the backup needs ${o.virtualSize}`,
      );
    }
    if (device.isBlockDevice) {
      return new DeviceSink(device.handle, o.assumeZeroed ?? false, o.path, device.size);
    }
    await device.handle.truncate(0);
    await device.handle.truncate(device.size);
    return new DeviceSink(device.handle, true, o.path, device.size);
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new DatamoverError('NO_SPACE', `device ${this.path} is full at offset ${offset + done}`, { cause: e });
      }
      throw e;
    }
    this.flushes.wrote(data.length);
  }

  async close(): Promise<void> {
    try {
      await this.flushes.finish();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes without syncing (after a failure). */
  async discard(): Promise<void> {
    await this.flushes.settle();
    await this.handle.close().catch(() => undefined);
  }
}
