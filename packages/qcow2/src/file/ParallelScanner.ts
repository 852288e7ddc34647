import { corrupt, invalidArgument } from '../format/errors';
import { WindowPool } from './WindowPool';

/** What a scanned cluster needs in the image being written: nothing (unchanged). */
export const KEEP = 0;
/** The cluster's bytes must be stored (they differ from the previous ones). */
export const STORE = 1;
/** The cluster became all zeros where the previous image had data: zero flag. */
export const MARK_ZERO = 2;
/** The previous bytes of this cluster span several extents: the caller compares. */
export const CHECK = 3;

/** Previous state of a cluster, in {@link WindowPlan.layers}. */
export const PREVIOUS_ZERO = -1;
export const PREVIOUS_MIXED = -2;

/** One window as planned by the caller. */
export interface WindowPlan {
  offset: number;
  length: number;
  /**
   * Per cluster of the window, the layer (index into the scanner's `layers`) whose bytes at
   * `hosts[i]` are the previous cluster, or PREVIOUS_ZERO / PREVIOUS_MIXED.
   */
  layers: Int16Array;
  hosts: Float64Array;
}

/**
 * Scans one window (plain JavaScript, so the same text runs in worker threads and, compiled
 * with `new Function`, on the calling thread). Reads the volume 256 KiB at a time (still in
 * the CPU cache when checked), decides each cluster: all zeros, the same as the previous bytes
 * (read from the previous layer's file at the planned host offset) or changed. Previous bytes
 * are read for a run of clusters at once where their host offsets follow each other in one
 * layer (up to the same 256 KiB), and a cluster with previous bytes is only checked for zeros
 * when it changed (the zero flag then replaces storing it).
 */
const SCAN_FACTORY = `(function (m) {
  const bytes = Buffer.allocUnsafeSlow(m.readBytes);
  const before = Buffer.allocUnsafeSlow(m.readBytes);
  const cs = m.clusterSize;
  // What "before" holds: bytes of layer beforeLayer from host offset beforeHost on.
  let beforeLayer = -1;
  let beforeHost = 0;
  let beforeLength = 0;
  const readFully = (fd, target, length, position) => {
    let done = 0;
    while (done < length) {
      const got = m.readSync(fd, target, done, length - done, position + done);
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
  // Makes "before" hold cluster i's previous bytes (length bytes), reading them with those of
  // the next clusters of the chunk (up to chunkEnd) that follow them in the same layer's file.
  // Returns where they start in "before".
  const previousOf = (i, chunkEnd, length) => {
    const layer = m.layerOf[i];
    const host = m.hostOf[i];
    if (layer === beforeLayer && host >= beforeHost && host + length <= beforeHost + beforeLength)
      return host - beforeHost;
    let run = 1;
    while (i + run < chunkEnd && m.layerOf[i + run] === layer && m.hostOf[i + run] === host + run * cs) run++;
    const want = run * cs; // at most readBytes: the run stays inside the chunk
    const file = m.layers[layer];
    const available = file.size - host;
    if (available <= 0) throw new Error('corrupt: data at host offset ' + host + ' of layer ' + layer + ' is past the end of the file');
    const got = readFully(file.fd, before, Math.min(want, available), host);
    // Bytes past the end of the file read as zeros for this cluster; a later cluster of the
    // run lying there misses the cache, and is refused if it starts past the end.
    before.fill(0, got, length);
    beforeLayer = layer;
    beforeHost = host;
    beforeLength = got;
    return 0;
  };
  return slot => {
    const offset = m.heads[2 * slot];
    const length = m.heads[2 * slot + 1];
    const base = slot * m.perWindow;
    beforeLayer = -1;
    for (let at = 0; at < length; at += m.readBytes) {
      const take = Math.min(m.readBytes, length - at);
      if (readFully(m.fd, bytes, take, offset + at) !== take) throw new Error('the volume ended at ' + (offset + at) + ' while reading ' + take + ' bytes');
      const chunkEnd = base + Math.ceil((at + take) / cs);
      for (let c = 0; c < take; c += cs) {
        const end = Math.min(c + cs, take);
        const i = base + (at + c) / cs;
        const layer = m.layerOf[i];
        if (layer === -1) m.codes[i] = isZero(c, end) ? 0 : 1;
        else if (layer === -2) m.codes[i] = 3;
        else {
          const from = previousOf(i, chunkEnd, end - c);
          m.codes[i] = bytes.compare(before, from, from + end - c, c, end) === 0 ? 0 : isZero(c, end) ? 2 : 1;
        }
      }
    }
  };
})`;

/**
 * Scans windows of a local file in parallel: each window is read, its all-zero clusters found
 * and its other clusters compared with the previous image's bytes (read from the previous
 * layers' files), leaving one code per cluster (KEEP, STORE, MARK_ZERO, CHECK). Only the codes
 * go back to the caller, which reads the few clusters it stores itself. Reading and comparing a
 * whole volume is the costly part of a backup, and one thread cannot copy from the page cache
 * as fast as two.
 *
 * Windows are posted in order with {@link post} and taken back in the same order with
 * {@link take}. Worker threads claim posted windows as they become free; with `callerScans`,
 * the calling thread claims and scans windows too while it waits in `take` (one thread fewer
 * to start, and no idle core while the workers start: meant for blocking mode).
 */
export class ParallelScanner {
  /** Windows that may be posted and not yet released. */
  readonly inFlightLimit: number;
  private readonly pool: WindowPool;
  private readonly layerOf: Int16Array;
  private readonly hostOf: Float64Array;
  private readonly codes: Uint8Array;
  private readonly windowBytes: number;

  constructor(options: {
    /** The volume (byte 0 of the file is byte 0 of the volume). */
    fd: number;
    /** Files of the previous chain's layers, by layer index. */
    layers: ReadonlyArray<{ fd: number; size: number }>;
    clusterSize: number;
    /** Bytes per window, a multiple of the cluster size. */
    windowBytes: number;
    /** Worker threads (0 is allowed with `callerScans`). */
    workers: number;
    /** The calling thread scans too, synchronously, inside `take`. */
    callerScans?: boolean;
    /** Windows in flight; 2 per scanning thread by default. */
    slots?: number;
    /** Bytes per read inside a window; 256 KiB by default. */
    readBytes?: number;
  }) {
    const { clusterSize, windowBytes, workers } = options;
    const slots = WindowPool.slotsFor({ workers, callerScans: options.callerScans ?? false, slots: options.slots });
    const readBytes = Math.max(clusterSize, Math.min(windowBytes, options.readBytes ?? 256 * 1024));
    if (windowBytes % clusterSize !== 0 || readBytes % clusterSize !== 0) {
      throw invalidArgument('parallel scans need windows and reads of whole clusters');
    }
    const perWindow = windowBytes / clusterSize;
    const shared = (bytes: number) => new SharedArrayBuffer(bytes);
    this.windowBytes = windowBytes;
    this.layerOf = new Int16Array(shared(slots * perWindow * 2));
    this.hostOf = new Float64Array(shared(slots * perWindow * 8));
    this.codes = new Uint8Array(shared(slots * perWindow));
    this.pool = new WindowPool({
      scanFactory: SCAN_FACTORY,
      data: {
        fd: options.fd,
        layers: options.layers.map(l => ({ fd: l.fd, size: l.size })),
        clusterSize,
        readBytes,
        layerOf: this.layerOf,
        hostOf: this.hostOf,
        codes: this.codes,
      },
      helpers: ['readSync'],
      perWindow,
      workers,
      callerScans: options.callerScans ?? false,
      slots,
      mapError: scanError,
    });
    this.inFlightLimit = this.pool.inFlightLimit;
  }

  /** Windows posted and not yet released. */
  get inFlight(): number {
    return this.pool.inFlight;
  }

  /**
   * Posts the next window. `fill` writes the previous state of each cluster into the plan's
   * arrays (which start as PREVIOUS_ZERO); at most `inFlightLimit` windows may be in flight.
   */
  post(offset: number, length: number, fill?: (plan: WindowPlan) => void): void {
    if (length > this.windowBytes) throw invalidArgument(`window of ${length} bytes is too long`);
    const { perWindow } = this.pool;
    this.pool.post(offset, length, slot => {
      const first = slot * perWindow;
      const plan: WindowPlan = {
        offset,
        length,
        layers: this.layerOf.subarray(first, first + perWindow),
        hosts: this.hostOf.subarray(first, first + perWindow),
      };
      plan.layers.fill(PREVIOUS_ZERO);
      fill?.(plan);
    });
  }

  /**
   * Waits for the oldest window not yet taken (scanning windows meanwhile with `callerScans`)
   * and returns its codes, one per cluster, valid until that window is released.
   */
  async take(): Promise<Uint8Array> {
    const slot = await this.pool.take();
    const first = slot * this.pool.perWindow;
    return this.codes.subarray(first, first + this.pool.perWindow);
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

function scanError(message: string): Error {
  return message.startsWith('corrupt: ')
    ? corrupt(message.slice('corrupt: '.length))
    : new Error(`parallel scan failed: ${message}`);
}
