import { readSync } from 'node:fs';
import type { Worker as WorkerType } from 'node:worker_threads';
import { corrupt, invalidArgument } from '../format/errors';

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

/** Slot states. */
const FREE = 0;
const POSTED = 1;
const DONE = 2;
const FAILED = 3;
/** Control words: windows posted so far, windows claimed so far, stop flag. */
const POSTED_COUNT = 0;
const CLAIMED_COUNT = 1;
const STOPPING = 2;

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
 * A worker thread: claims the next posted window (shared counter), scans it, marks its slot
 * done or failed (message in the error area), and waits for more until told to stop.
 */
const WORKER_SOURCE = `
const { workerData: d } = require('node:worker_threads');
const m = { ...d, readSync: require('node:fs').readSync };
const scan = ${SCAN_FACTORY}(m);
const control = m.control;
for (;;) {
  if (Atomics.load(control, ${STOPPING}) === 1) break;
  const posted = Atomics.load(control, ${POSTED_COUNT});
  const window = Atomics.load(control, ${CLAIMED_COUNT});
  if (window >= posted) { Atomics.wait(control, ${POSTED_COUNT}, posted); continue; }
  if (Atomics.compareExchange(control, ${CLAIMED_COUNT}, window, window + 1) !== window) continue;
  const slot = window % m.slots;
  try {
    scan(slot);
    Atomics.store(m.states, slot, ${DONE});
  } catch (e) {
    Buffer.from(m.errors.buffer, slot * 1024, 1024).write(String((e && e.message) || e).slice(0, 1000) + '\\0');
    Atomics.store(m.states, slot, ${FAILED});
  }
  Atomics.notify(m.states, slot);
}
`;

interface Shared {
  fd: number;
  layers: Array<{ fd: number; size: number }>;
  clusterSize: number;
  readBytes: number;
  slots: number;
  perWindow: number;
  control: Int32Array;
  states: Int32Array;
  heads: Float64Array;
  layerOf: Int16Array;
  hostOf: Float64Array;
  codes: Uint8Array;
  errors: Uint8Array;
}

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
  private readonly shared: Shared;
  private readonly workers: WorkerType[] = [];
  private scan?: (slot: number) => void;
  private posted = 0;
  private taken = 0;
  private released = 0;

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
    const scanners = workers + (options.callerScans ? 1 : 0);
    const slots = options.slots ?? 2 * scanners;
    const readBytes = Math.max(
      clusterSize,
      Math.min(windowBytes, options.readBytes ?? 256 * 1024),
    );
    if (
      windowBytes % clusterSize !== 0 ||
      readBytes % clusterSize !== 0 ||
      scanners < 1 ||
      workers < 0 ||
      slots < 1
    ) {
      throw invalidArgument(
        'parallel scans need windows and reads of whole clusters, one scanning thread and one slot at least',
      );
    }
    const perWindow = windowBytes / clusterSize;
    this.inFlightLimit = slots;
    const shared = (bytes: number) => new SharedArrayBuffer(bytes);
    this.shared = {
      fd: options.fd,
      layers: options.layers.map(l => ({ fd: l.fd, size: l.size })),
      clusterSize,
      readBytes,
      slots,
      perWindow,
      control: new Int32Array(shared(3 * 4)),
      states: new Int32Array(shared(slots * 4)),
      heads: new Float64Array(shared(slots * 16)),
      layerOf: new Int16Array(shared(slots * perWindow * 2)),
      hostOf: new Float64Array(shared(slots * perWindow * 8)),
      codes: new Uint8Array(shared(slots * perWindow)),
      errors: new Uint8Array(shared(slots * 1024)),
    };
    if (workers > 0) {
      // Loaded on first use: node:worker_threads takes about 13 ms to load, which every run
      // of a short command would pay otherwise.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Worker } =
        require('node:worker_threads') as typeof import('node:worker_threads');
      for (let index = 0; index < workers; index++) {
        // Not unref'd: a pending Atomics.waitAsync does not keep the process alive, the
        // threads do (close() ends them).
        this.workers.push(
          new Worker(WORKER_SOURCE, {
            eval: true,
            workerData: this.shared,
            stdout: false,
            stderr: false,
          }),
        );
      }
    }
    if (options.callerScans) {
      // The same text as the workers run (see SCAN_FACTORY), compiled once here.
      // eslint-disable-next-line no-new-func
      const factory = new Function(`return ${SCAN_FACTORY}`)() as (
        m: Shared & { readSync: typeof readSync },
      ) => (slot: number) => void;
      this.scan = factory({ ...this.shared, readSync });
    }
  }

  /** Windows posted and not yet released. */
  get inFlight(): number {
    return this.posted - this.released;
  }

  /**
   * Posts the next window. `fill` writes the previous state of each cluster into the plan's
   * arrays (which start as PREVIOUS_ZERO); at most `inFlightLimit` windows may be in flight.
   */
  post(
    offset: number,
    length: number,
    fill?: (plan: WindowPlan) => void,
  ): void {
    const { shared } = this;
    if (this.inFlight >= this.inFlightLimit)
      throw invalidArgument('too many windows in flight');
    if (length > shared.perWindow * shared.clusterSize)
      throw invalidArgument(`window of ${length} bytes is too long`);
    const slot = this.posted % shared.slots;
    const first = slot * shared.perWindow;
    const plan: WindowPlan = {
      offset,
      length,
      layers: shared.layerOf.subarray(first, first + shared.perWindow),
      hosts: shared.hostOf.subarray(first, first + shared.perWindow),
    };
    plan.layers.fill(PREVIOUS_ZERO);
    fill?.(plan);
    shared.heads[2 * slot] = offset;
    shared.heads[2 * slot + 1] = length;
    Atomics.store(shared.states, slot, POSTED);
    this.posted++;
    Atomics.store(shared.control, POSTED_COUNT, this.posted);
    Atomics.notify(shared.control, POSTED_COUNT);
  }

  /**
   * Waits for the oldest window not yet taken (scanning windows meanwhile with `callerScans`)
   * and returns its codes, one per cluster, valid until that window is released.
   */
  async take(): Promise<Uint8Array> {
    const { shared } = this;
    if (this.taken === this.posted) throw invalidArgument('no window posted');
    const slot = this.taken++ % shared.slots;
    for (;;) {
      const state = Atomics.load(shared.states, slot);
      if (state === DONE) break;
      if (state === FAILED) {
        const text = Buffer.from(
          shared.errors.buffer,
          slot * 1024,
          1024,
        ).toString('utf8');
        throw scanError(text.slice(0, text.indexOf('\0')));
      }
      if (this.scan && this.claim()) continue;
      const wait = Atomics.waitAsync(shared.states, slot, state);
      if (wait.async) await wait.value;
    }
    const first = slot * shared.perWindow;
    return shared.codes.subarray(first, first + shared.perWindow);
  }

  /** Gives the oldest taken window's slot back. */
  release(): void {
    if (this.released === this.taken) throw invalidArgument('no window taken');
    Atomics.store(
      this.shared.states,
      this.released++ % this.shared.slots,
      FREE,
    );
  }

  /** Stops the threads (also when the pass ended early). */
  async close(): Promise<void> {
    Atomics.store(this.shared.control, STOPPING, 1);
    Atomics.notify(this.shared.control, POSTED_COUNT);
    await Promise.all(this.workers.map(worker => worker.terminate()));
  }

  /** Claims and scans the next unclaimed window on this thread; false when there is none. */
  private claim(): boolean {
    const { control, slots, states } = this.shared;
    for (;;) {
      const window = Atomics.load(control, CLAIMED_COUNT);
      if (window >= Atomics.load(control, POSTED_COUNT)) return false;
      if (
        Atomics.compareExchange(control, CLAIMED_COUNT, window, window + 1) ===
        window
      ) {
        const slot = window % slots;
        try {
          this.scan!(slot);
        } catch (error) {
          throw scanError(
            error instanceof Error ? error.message : String(error),
          );
        }
        Atomics.store(states, slot, DONE);
        Atomics.notify(states, slot);
        return true;
      }
    }
  }
}

function scanError(message: string): Error {
  return message.startsWith('corrupt: ')
    ? corrupt(message.slice('corrupt: '.length))
    : new Error(`parallel scan failed: ${message}`);
}
