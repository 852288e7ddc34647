import { hash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { Worker as WorkerType } from 'node:worker_threads';
import { invalidArgument } from '../format/errors';

/** Slot states. */
const FREE = 0;
const POSTED = 1;
const DONE = 2;
const FAILED = 3;
/** Control words: windows posted so far, windows claimed so far, stop flag. */
const POSTED_COUNT = 0;
const CLAIMED_COUNT = 1;
const STOPPING = 2;
/** Bytes of a failed window's message. */
const ERROR_BYTES = 1024;

/** Node functions a scan may call as `m.<name>` (required inside each worker thread). */
export type ScanHelper = 'readSync' | 'hash';
const HELPER_SOURCE: Record<ScanHelper, string> = {
  readSync: `require('node:fs').readSync`,
  hash: `require('node:crypto').hash`,
};
/** The same functions on the calling thread. */
const LOCAL_HELPERS: Record<ScanHelper, unknown> = { readSync, hash };

/**
 * What every scan finds in `m` beside the caller's `data`: the pool's slot count, clusters per
 * window, and each slot's window (`heads[2 * slot]` offset, `heads[2 * slot + 1]` length).
 */
export interface WindowPoolShared {
  slots: number;
  perWindow: number;
  heads: Float64Array;
}

/**
 * Worker threads (and optionally the calling thread) that scan windows of a file in parallel,
 * posted in order and taken back in the same order. A scan is plain JavaScript text,
 * `(function (m) { ...; return slot => { ... } })`, so the same text runs in the workers and,
 * compiled with `new Function`, on the calling thread; it reads `m.heads` for its slot's window
 * and leaves its results in the caller's shared arrays (`data`, typed arrays over
 * SharedArrayBuffers, one part per slot). The pool only moves slots between threads: a shared
 * counter of windows posted and one of windows claimed, one state word per slot, and a message
 * area per slot for a scan that threw.
 *
 * With `callerScans`, the calling thread claims and scans windows too while it waits in `take`
 * (one thread fewer to start, and no idle core while the workers start: meant for blocking
 * mode). Used by `ParallelScanner` (a volume against a previous image's bytes) and by the
 * datamover's digest scanner (a device's cluster digests).
 */
export class WindowPool {
  /** Windows that may be posted and not yet released. */
  readonly inFlightLimit: number;
  readonly slots: number;
  readonly perWindow: number;
  private readonly control = new Int32Array(new SharedArrayBuffer(3 * 4));
  private readonly states: Int32Array;
  private readonly heads: Float64Array;
  private readonly errors: Uint8Array;
  private readonly workers: WorkerType[] = [];
  private readonly scan?: (slot: number) => void;
  private readonly mapError: (message: string) => Error;
  private posted = 0;
  private taken = 0;
  private released = 0;

  /** The slots of a pool (callers size their shared arrays with it): 2 per scanning thread by default. */
  static slotsFor(o: { workers: number; callerScans: boolean; slots?: number }): number {
    return o.slots ?? 2 * (o.workers + (o.callerScans ? 1 : 0));
  }

  constructor(options: {
    /** The scan's source text (see the class comment). */
    scanFactory: string;
    /** The caller's values and shared arrays, as `m.<name>` in the scan. */
    data: Record<string, unknown>;
    /** Node functions the scan calls (`m.readSync`, `m.hash`). */
    helpers: ScanHelper[];
    /** Clusters per window (the length of each slot's part of the caller's arrays). */
    perWindow: number;
    /** Worker threads (0 is allowed with `callerScans`). */
    workers: number;
    /** The calling thread scans too, synchronously, inside `take`. */
    callerScans: boolean;
    /** Windows in flight; 2 per scanning thread by default. */
    slots?: number;
    /** The error `take` throws for a scan's message. */
    mapError: (message: string) => Error;
  }) {
    const scanners = options.workers + (options.callerScans ? 1 : 0);
    const slots = WindowPool.slotsFor(options);
    if (scanners < 1 || options.workers < 0 || slots < 1 || options.perWindow < 1) {
      throw invalidArgument('a window pool needs one scanning thread, one slot and one cluster per window at least');
    }
    this.slots = slots;
    this.perWindow = options.perWindow;
    this.inFlightLimit = slots;
    this.mapError = options.mapError;
    this.states = new Int32Array(new SharedArrayBuffer(slots * 4));
    this.heads = new Float64Array(new SharedArrayBuffer(slots * 16));
    this.errors = new Uint8Array(new SharedArrayBuffer(slots * ERROR_BYTES));
    const shared: WindowPoolShared & Record<string, unknown> = {
      ...options.data,
      slots,
      perWindow: options.perWindow,
      heads: this.heads,
    };
    if (options.workers > 0) {
      const workerData = { ...shared, control: this.control, states: this.states, errors: this.errors };
      const source = workerSource(options.scanFactory, options.helpers);
      // Loaded on first use: node:worker_threads takes about 13 ms to load, which every run
      // of a short command would pay otherwise.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      for (let index = 0; index < options.workers; index++) {
        // Not unref'd: a pending Atomics.waitAsync does not keep the process alive, the
        // threads do (close() ends them).
        this.workers.push(new Worker(source, { eval: true, workerData, stdout: false, stderr: false }));
      }
    }
    if (options.callerScans) {
      // eslint-disable-next-line no-new-func
      const factory = new Function(`return ${options.scanFactory}`)() as (m: object) => (slot: number) => void;
      const helpers = Object.fromEntries(options.helpers.map(name => [name, LOCAL_HELPERS[name]]));
      this.scan = factory({ ...shared, ...helpers });
    }
  }

  /** Windows posted and not yet released. */
  get inFlight(): number {
    return this.posted - this.released;
  }

  /**
   * Posts the next window; `fill(slot)` first writes what the scan needs into the caller's
   * arrays for that slot. At most `inFlightLimit` windows may be in flight.
   */
  post(offset: number, length: number, fill?: (slot: number) => void): void {
    if (this.inFlight >= this.inFlightLimit) throw invalidArgument('too many windows in flight');
    const slot = this.posted % this.slots;
    fill?.(slot);
    this.heads[2 * slot] = offset;
    this.heads[2 * slot + 1] = length;
    Atomics.store(this.states, slot, POSTED);
    this.posted++;
    Atomics.store(this.control, POSTED_COUNT, this.posted);
    Atomics.notify(this.control, POSTED_COUNT);
  }

  /**
   * Waits for the oldest window not yet taken (scanning windows meanwhile with `callerScans`)
   * and returns its slot, whose results stay valid until it is released.
   */
  async take(): Promise<number> {
    if (this.taken === this.posted) throw invalidArgument('no window posted');
    const slot = this.taken++ % this.slots;
    for (;;) {
      const state = Atomics.load(this.states, slot);
      if (state === DONE) return slot;
      if (state === FAILED) {
        const text = Buffer.from(this.errors.buffer, slot * ERROR_BYTES, ERROR_BYTES).toString('utf8');
        throw this.mapError(text.slice(0, text.indexOf('\0')));
      }
      if (this.scan && this.claim()) continue;
      const wait = Atomics.waitAsync(this.states, slot, state);
      if (wait.async) await wait.value;
    }
  }

  /** Gives the oldest taken window's slot back. */
  release(): void {
    if (this.released === this.taken) throw invalidArgument('no window taken');
    Atomics.store(this.states, this.released++ % this.slots, FREE);
  }

  /** Stops the threads (also when the pass ended early). */
  async close(): Promise<void> {
    Atomics.store(this.control, STOPPING, 1);
    Atomics.notify(this.control, POSTED_COUNT);
    await Promise.all(this.workers.map(worker => worker.terminate()));
  }

  /** Claims and scans the next unclaimed window on this thread; false when there is none. */
  private claim(): boolean {
    for (;;) {
      const window = Atomics.load(this.control, CLAIMED_COUNT);
      if (window >= Atomics.load(this.control, POSTED_COUNT)) return false;
      if (Atomics.compareExchange(this.control, CLAIMED_COUNT, window, window + 1) === window) {
        const slot = window % this.slots;
        try {
          this.scan!(slot);
        } catch (error) {
          throw this.mapError(error instanceof Error ? error.message : String(error));
        }
        Atomics.store(this.states, slot, DONE);
        Atomics.notify(this.states, slot);
        return true;
      }
    }
  }
}

/**
 * A worker thread: claims the next posted window (shared counter), scans it, marks its slot
 * done or failed (message in the slot's error area), and waits for more until told to stop.
 */
function workerSource(scanFactory: string, helpers: ScanHelper[]): string {
  const required = helpers.map(name => `${name}: ${HELPER_SOURCE[name]}`).join(', ');
  return `
const { workerData: d } = require('node:worker_threads');
const m = { ...d, ${required} };
const scan = ${scanFactory}(m);
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
    Buffer.from(m.errors.buffer, slot * ${ERROR_BYTES}, ${ERROR_BYTES}).write(String((e && e.message) || e).slice(0, ${ERROR_BYTES - 24}) + '\\0');
    Atomics.store(m.states, slot, ${FAILED});
  }
  Atomics.notify(m.states, slot);
}
`;
}
