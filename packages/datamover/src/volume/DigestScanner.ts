import { hash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { Worker as WorkerType } from 'node:worker_threads';
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

/**
 * A worker thread: claims the next posted window (shared counter), scans it, marks its slot done
 * or failed (message in the error area), and waits for more until told to stop.
 */
const WORKER_SOURCE = `
const { workerData: d } = require('node:worker_threads');
const m = { ...d, readSync: require('node:fs').readSync, hash: require('node:crypto').hash };
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
  clusterSize: number;
  readBytes: number;
  slots: number;
  perWindow: number;
  control: Int32Array;
  states: Int32Array;
  heads: Float64Array;
  codes: Uint8Array;
  digests: Uint8Array;
  errors: Uint8Array;
}

/** What a taken window holds, valid until it is released. */
export interface ScannedWindow {
  /** One code per cluster (ZERO or DATA). */
  codes: Uint8Array;
  /** One index digest per cluster (DIGEST_BYTES each). */
  digests: Uint8Array;
}

/**
 * Reads a device in windows and decides each cluster (zero or data, and its index digest) on
 * several threads: worker threads and, with `callerScans`, the calling thread itself while it
 * waits for the window it needs next (no idle core while a worker starts; for blocking mode).
 * Reading a whole volume out of the page cache and hashing its data is the costly part of a
 * backup, and one thread cannot copy and hash as fast as two. Only codes and digests go back to
 * the caller, which reads the few clusters it stores itself. Windows are posted in order with
 * `post` and taken back in the same order with `take`.
 * (The scheme is @ferry/qcow2's ParallelScanner, which compares with a previous image's bytes
 * instead of computing digests.)
 */
export class DigestScanner {
  /** Windows that may be posted and not yet released. */
  readonly inFlightLimit: number;
  private readonly shared: Shared;
  private readonly workers: WorkerType[] = [];
  private scan?: (slot: number) => void;
  private posted = 0;
  private taken = 0;
  private released = 0;

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
    const scanners = workers + (o.callerScans ? 1 : 0);
    const slots = o.slots ?? 2 * scanners;
    const readBytes = Math.max(clusterSize, Math.min(windowBytes, o.direct ? DIRECT_READ_BYTES : CACHED_READ_BYTES));
    if (windowBytes % clusterSize !== 0 || readBytes % clusterSize !== 0 || scanners < 1 || workers < 0 || slots < 1) {
      throw new Error('digest scans need windows of whole clusters, one scanning thread and one slot at least');
    }
    const perWindow = windowBytes / clusterSize;
    this.inFlightLimit = slots;
    const shared = (bytes: number) => new SharedArrayBuffer(bytes);
    this.shared = {
      fd: o.fd,
      clusterSize,
      readBytes,
      slots,
      perWindow,
      control: new Int32Array(shared(3 * 4)),
      states: new Int32Array(shared(slots * 4)),
      heads: new Float64Array(shared(slots * 16)),
      codes: new Uint8Array(shared(slots * perWindow)),
      digests: new Uint8Array(shared(slots * perWindow * DIGEST_BYTES)),
      errors: new Uint8Array(shared(slots * 1024)),
    };
    if (workers > 0) {
      // Loaded on first use: node:worker_threads takes ~13 ms to load, which small volumes skip.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      for (let i = 0; i < workers; i++) {
        this.workers.push(new Worker(WORKER_SOURCE, { eval: true, workerData: this.shared, stdout: false, stderr: false }));
      }
    }
    if (o.callerScans) {
      // eslint-disable-next-line no-new-func
      const factory = new Function(`return ${SCAN_FACTORY}`)() as (m: object) => (slot: number) => void;
      this.scan = factory({ ...this.shared, readSync, hash });
    }
  }

  /** Windows posted and not yet released. */
  get inFlight(): number {
    return this.posted - this.released;
  }

  /** Posts the next window (`offset`, `length` bytes); at most `inFlightLimit` in flight. */
  post(offset: number, length: number): void {
    const { shared } = this;
    if (this.inFlight >= this.inFlightLimit) throw new Error('too many windows in flight');
    if (length > shared.perWindow * shared.clusterSize) throw new Error(`window of ${length} bytes is too long`);
    const slot = this.posted % shared.slots;
    shared.heads[2 * slot] = offset;
    shared.heads[2 * slot + 1] = length;
    Atomics.store(shared.states, slot, POSTED);
    this.posted++;
    Atomics.store(shared.control, POSTED_COUNT, this.posted);
    Atomics.notify(shared.control, POSTED_COUNT);
  }

  /** Waits for the oldest window not yet taken (scanning windows meanwhile with `callerScans`). */
  async take(): Promise<ScannedWindow> {
    const { shared } = this;
    if (this.taken === this.posted) throw new Error('no window posted');
    const slot = this.taken++ % shared.slots;
    for (;;) {
      const state = Atomics.load(shared.states, slot);
      if (state === DONE) break;
      if (state === FAILED) {
        const text = Buffer.from(shared.errors.buffer, slot * 1024, 1024).toString('utf8');
        throw new Error(`reading the device failed: ${text.slice(0, text.indexOf('\0'))}`);
      }
      if (this.scan && this.claim()) continue;
      const wait = Atomics.waitAsync(shared.states, slot, state);
      if (wait.async) await wait.value;
    }
    const first = slot * shared.perWindow;
    return {
      codes: shared.codes.subarray(first, first + shared.perWindow),
      digests: shared.digests.subarray(first * DIGEST_BYTES, (first + shared.perWindow) * DIGEST_BYTES),
    };
  }

  /** Gives the oldest taken window's slot back. */
  release(): void {
    if (this.released === this.taken) throw new Error('no window taken');
    Atomics.store(this.shared.states, this.released++ % this.shared.slots, FREE);
  }

  /** Stops the threads (also when the pass ended early). */
  async close(): Promise<void> {
    Atomics.store(this.shared.control, STOPPING, 1);
    Atomics.notify(this.shared.control, POSTED_COUNT);
    await Promise.all(this.workers.map(w => w.terminate()));
  }

  /** Claims and scans the next unclaimed window on this thread; false when there is none. */
  private claim(): boolean {
    const { control, slots, states } = this.shared;
    for (;;) {
      const window = Atomics.load(control, CLAIMED_COUNT);
      if (window >= Atomics.load(control, POSTED_COUNT)) return false;
      if (Atomics.compareExchange(control, CLAIMED_COUNT, window, window + 1) === window) {
        const slot = window % slots;
        this.scan!(slot);
        Atomics.store(states, slot, DONE);
        Atomics.notify(states, slot);
        return true;
      }
    }
  }
}
