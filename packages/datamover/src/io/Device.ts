import { constants, promises as fs, readSync } from 'node:fs';
import { DatamoverError } from '../errors';

/**
 * A block device or a regular file holding a volume. Block devices report size 0 through
 * stat(), so their size comes from sysfs (`/sys/dev/block/<major>:<minor>/size`, in 512-byte
 * sectors), which Kubernetes pods see.
 *
 * `direct` opens a block device for reading with O_DIRECT: a backup reads the whole volume once,
 * and through the page cache that would push the node's cached data out (and, on a loop device,
 * fill two caches, the device's and its file's). Reads then need buffers from `alignedBuffer` and
 * offsets and lengths in whole logical blocks (every read here is in whole clusters, and a
 * device's size is whole blocks). Files, and devices that refuse O_DIRECT, are read through the
 * page cache; `direct` says which it is.
 */
export class Device {
  private constructor(
    readonly path: string,
    readonly handle: fs.FileHandle,
    readonly size: number,
    readonly isBlockDevice: boolean,
    readonly direct: boolean,
  ) {}

  static async open(o: { path: string; write: boolean; direct?: boolean }): Promise<Device> {
    let stat;
    try {
      stat = await fs.stat(o.path);
    } catch (e) {
      throw new DatamoverError('DEVICE_MISSING', `device ${o.path} does not exist`, { cause: e });
    }
    if (!stat.isBlockDevice() && !stat.isFile()) {
      throw new DatamoverError('DEVICE_MISSING', `device ${o.path} is neither a block device nor a file`);
    }
    let handle: fs.FileHandle;
    let direct: fs.FileHandle | undefined;
    try {
      if (o.direct && !o.write && stat.isBlockDevice()) direct = await openDirect(o.path);
      handle = direct ?? (await fs.open(o.path, o.write ? 'r+' : 'r'));
    } catch (e) {
      throw new DatamoverError('DEVICE_MISSING', `device ${o.path} cannot be opened (${(e as NodeJS.ErrnoException).code})`, { cause: e });
    }
    const size = stat.isBlockDevice() ? await blockDeviceSize(o.path, stat.rdev) : stat.size;
    return new Device(o.path, handle, size, stat.isBlockDevice(), direct !== undefined);
  }

  /** Reads exactly `length` bytes at `offset` into `into` (which it returns). */
  async read(into: Uint8Array, offset: number, length: number): Promise<Uint8Array> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(into, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new DatamoverError('DEVICE_MISSING', `device ${this.path} ended at ${offset + done}, expected ${this.size} bytes`);
      }
      done += bytesRead;
    }
    return into.subarray(0, length);
  }

  /** `read` on the calling thread (no thread-pool round trip); blocks until done. */
  readSync(into: Uint8Array, offset: number, length: number): Uint8Array {
    let done = 0;
    while (done < length) {
      const got = readSync(this.handle.fd, into, done, length - done, offset + done);
      if (got === 0) {
        throw new DatamoverError('DEVICE_MISSING', `device ${this.path} ended at ${offset + done}, expected ${this.size} bytes`);
      }
      done += got;
    }
    return into.subarray(0, length);
  }

  /** The open descriptor (scanning threads read it with pread). */
  get fd(): number {
    return this.handle.fd;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** Opens read-only with O_DIRECT; undefined when the device refuses it (EINVAL). */
async function openDirect(path: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    throw e;
  }
}

async function blockDeviceSize(path: string, rdev: number): Promise<number> {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 4096) & 0xfff00) >>> 0);
  try {
    const sectors = (await fs.readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim();
    return Number(sectors) * 512;
  } catch {
    // fall back to reading until the end (slow, exact); only when sysfs is absent
    const h = await fs.open(path, 'r');
    try {
      let lo = 0;
      let hi = 1;
      const b = Buffer.alloc(1);
      while ((await h.read(b, 0, 1, hi * 512 - 1)).bytesRead === 1) hi *= 2;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if ((await h.read(b, 0, 1, mid * 512 - 1)).bytesRead === 1) lo = mid;
        else hi = mid;
      }
      return lo * 512;
    } finally {
      await h.close();
    }
  }
}
