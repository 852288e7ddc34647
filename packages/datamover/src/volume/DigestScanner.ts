import { WindowPool } from '@ferry/qcow2';
import { ALIGNED_BUFFER_SOURCE } from '../io/alignedBuffer';
import { DIGEST_BYTES } from './clusterIndex';

/** A scanned cluster is all zeros. */
export const ZERO = 0;
/** A scanned cluster holds data; its digest is in `digests`. */
export const DATA = 1;

/** Bytes per read through the page cache: still in the CPU cache when checked and hashed. */
const CACHED_READ_BYTES = 256 * 1024;
/** Bytes per read of a device opened with O_DIRECT (see the constructor's `direct`). */
const DIRECT_READ_BYTES = 1024 * 1024;

/**
 * Scans one window (plain JavaScript, so the same text runs in worker threads and, compiled with
 * `new Function`, on the calling thread): reads the device `readBytes` at a time (see
 * CACHED_READ_BYTES) and leaves per cluster a code (ZERO or DATA) and the index
 * digest (the first 16 bytes of the cluster's SHA-256; 16 zero bytes for a zero cluster).
 */
const SCAN_FACTORY = `(function (m) {
  const bytes = ${ALIGNED_BUFFER_SOURCE}(m.readBytes);
  const digests = Buffer.from(m.digests.buffer, m.digests.byteOffset, m.digests.byteLength);
  const cs = m.clusterSize;
  const D = ${DIGEST_BYTES};
  const readFully = (length, position) => {
    let done = 0;
    while (done < length) {
      const got = m.readSync(m.fd, bytes, done, length - done, position + done);
      if (got === 0) return done;
      done += got;
    }
    return done;
  };
  const isZero = (at, end) => {
    const first = Math.min(end, at + 8);
    for (let i = at; i < first; i++) if (bytes[i] !== 0) return false;
    return first === end || bytes.compare(bytes, at + 8, end, at, end - 8) === 0;
  };
  return slot => {
    const offset = m.heads[2 * slot];
    const length = m.heads[2 * slot + 1];
    const base = slot * m.perWindow;
    for (let at = 0; at < length; at += m.readBytes) {
      const take = Math.min(m.readBytes, length - at);
      if (readFully(take, offset + at) !== take) throw new Error('the device ended at ' + (offset + at) + ' while reading ' + take + ' bytes');
      for (let c = 0; c < take; c += cs) {
        const end = Math.min(c + cs, take);
        const i = base + (at + c) / cs;
        if (isZero(c, end)) {
          m.codes[i] = ${ZERO};
          digests.fill(0, i * D, i * D + D);
        } else {
          m.codes[i] = ${DATA};
          m.hash('sha256', bytes.subarray(c, end), 'buffer').copy(digests, i * D, 0, D);
        }
      }
    }
  };
})`;

/** What a taken window holds, valid until it is released. */
export interface ScannedWindow {
  /** One code per cluster (ZERO or DATA). */
  codes: Uint8Array;
  /** One index digest per cluster (DIGEST_BYTES each). */
  digests: Uint8Array;
}

/**
 * Reads a device in windows and decides each cluster (zero or data, and its index digest) on
 * several threads (`WindowPool` of @ferry/qcow2): worker threads and, with `callerScans`, the
 * calling thread itself while it waits for the window it needs next (no idle core while a
 * worker starts; for blocking mode).
 * Reading a whole volume out of the page cache and hashing its data is the costly part of a
 * backup, and one thread cannot copy and hash as fast as two. Only codes and digests go back to
 * the caller, which reads the few clusters it stores itself. Windows are posted in order with
 * `post` and taken back in the same order with `take`.
 * (@ferry/qcow2's ParallelScanner runs on the same pool and compares with a previous image's
 * bytes instead of computing digests.)
 */
export class DigestScanner {
  /** Windows that may be posted and not yet released. */
  readonly inFlightLimit: number;
  private readonly pool: WindowPool;
  private readonly codes: Uint8Array;
  private readonly digests: Uint8Array;
  private readonly windowBytes: number;

  constructor(o: {
    fd: number;
    clusterSize: number;
    /** Bytes per window, a multiple of the cluster size. */
    windowBytes: number;
    /** Worker threads (0 is allowed with `callerScans`). */
    workers: number;
    /** The calling thread scans too, synchronously, inside `take`. */
    callerScans: boolean;
    /** Windows in flight; 2 per scanning thread by default. */
    slots?: number;
    /**
     * The descriptor bypasses the page cache (O_DIRECT): each read is a round trip to the
     * device, so reads are 1 MiB instead of 256 KiB (4 GiB from a loop device: 1.3 s against
     * 1.5-1.8 s; 4 MiB gained nothing more and cost 6 MiB).
     */
    direct?: boolean;
  }) {
    const { clusterSize, windowBytes, workers } = o;
    const slots = WindowPool.slotsFor(o);
    const readBytes = Math.max(clusterSize, Math.min(windowBytes, o.direct ? DIRECT_READ_BYTES : CACHED_READ_BYTES));
    if (windowBytes % clusterSize !== 0 || readBytes % clusterSize !== 0) {
      throw new Error('digest scans need windows of whole clusters');
    }
    const perWindow = windowBytes / clusterSize;
    this.windowBytes = windowBytes;
    this.codes = new Uint8Array(new SharedArrayBuffer(slots * perWindow));
    this.digests = new Uint8Array(new SharedArrayBuffer(slots * perWindow * DIGEST_BYTES));
    this.pool = new WindowPool({
      scanFactory: SCAN_FACTORY,
      data: { fd: o.fd, clusterSize, readBytes, codes: this.codes, digests: this.digests },
      helpers: ['readSync', 'hash'],
      perWindow,
      workers,
      callerScans: o.callerScans,
      slots,
      mapError: message => new Error(`reading the device failed: ${message}`),
    });
    this.inFlightLimit = this.pool.inFlightLimit;
  }

  /** Windows posted and not yet released. */
  get inFlight(): number {
    return this.pool.inFlight;
  }

  /** Posts the next window (`offset`, `length` bytes); at most `inFlightLimit` in flight. */
  post(offset: number, length: number): void {
    if (length > this.windowBytes) throw new Error(`window of ${length} bytes is too long`);
    this.pool.post(offset, length);
  }

  /** Waits for the oldest window not yet taken (scanning windows meanwhile with `callerScans`). */
  async take(): Promise<ScannedWindow> {
    const first = (await this.pool.take()) * this.pool.perWindow;
    const end = first + this.pool.perWindow;
    return {
      codes: this.codes.subarray(first, end),
      digests: this.digests.subarray(first * DIGEST_BYTES, end * DIGEST_BYTES),
    };
  }

  /** Gives the oldest taken window's slot back. */
  release(): void {
    this.pool.release();
  }

  /** Stops the threads (also when the pass ended early). */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
