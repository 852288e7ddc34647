import type { Worker as WorkerType } from 'node:worker_threads';
import { corrupt, invalidArgument } from '../format/errors';

/** What a scanned cluster needs in the image being written. */
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

/** One window posted to a scanner thread. */
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
 * The threads' code (plain JavaScript, evaluated in each worker, so it needs no bundling).
 * Lane `w` of `n` scans windows `w, w + n, …` in its slots (slot = turn % slots). Slot state:
 * 0 free, 1 posted by the main thread, 2 done, 3 failed (message in the error area), 4 stop.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { fd, layers, clusterSize, readBytes, slots, perWindow, states, heads, layerMaps, hostMaps, codeMaps, error } = workerData;
const state = new Int32Array(states);
const head = new Float64Array(heads);
const layerOf = new Int16Array(layerMaps);
const hostOf = new Float64Array(hostMaps);
const codes = new Uint8Array(codeMaps);
const bytes = Buffer.allocUnsafeSlow(readBytes);
const before = Buffer.allocUnsafeSlow(clusterSize);
function readFully(file, target, length, position, what) {
  let done = 0;
  while (done < length) {
    const got = readSync(file, target, done, length - done, position + done);
    if (got === 0) return done;
    done += got;
  }
  return done;
}
function isZero(at, end) {
  const first = Math.min(end, at + 8);
  for (let i = at; i < first; i++) if (bytes[i] !== 0) return false;
  return first === end || bytes.compare(bytes, at + 8, end, at, end - 8) === 0;
}
function readBefore(layer, host, length) {
  const file = layers[layer];
  const available = file.size - host;
  if (available <= 0) throw new Error('corrupt: data at host offset ' + host + ' of layer ' + layer + ' is past the end of the file');
  const got = readFully(file.fd, before, Math.min(length, available), host);
  before.fill(0, got, length);
}
let turn = 0;
for (;;) {
  const slot = turn++ % slots;
  let s;
  while ((s = Atomics.load(state, slot)) !== 1) {
    if (s === 4) process.exit(0);
    Atomics.wait(state, slot, s);
  }
  try {
    const offset = head[2 * slot];
    const length = head[2 * slot + 1];
    const base = slot * perWindow;
    for (let at = 0; at < length; at += readBytes) {
      const take = Math.min(readBytes, length - at);
      if (readFully(fd, bytes, take, offset + at) !== take) throw new Error('the volume ended at ' + (offset + at) + ' while reading ' + take + ' bytes');
      for (let c = 0; c < take; c += clusterSize) {
        const end = Math.min(c + clusterSize, take);
        const i = base + (at + c) / clusterSize;
        const layer = layerOf[i];
        const zero = isZero(c, end);
        if (layer === -1) codes[i] = zero ? 0 : 1;
        else if (layer === -2) codes[i] = 3;
        else {
          readBefore(layer, hostOf[i], end - c);
          const same = bytes.compare(before, 0, end - c, c, end) === 0;
          codes[i] = same ? 0 : zero ? 2 : 1;
        }
      }
    }
    Atomics.store(state, slot, 2);
  } catch (e) {
    Buffer.from(error).write(String((e && e.message) || e).slice(0, 1000) + '\\0');
    Atomics.store(state, slot, 3);
  }
  Atomics.notify(state, slot);
}
`;

interface Lane {
  worker: WorkerType;
  states: Int32Array;
  heads: Float64Array;
  layers: Int16Array;
  hosts: Float64Array;
  codes: Uint8Array;
  error: Buffer;
}

const FREE = 0;
const POSTED = 1;
const DONE = 2;
const FAILED = 3;
const STOP = 4;

/**
 * Scans windows of a local file with worker threads (blocking `pread`, no hand-off per
 * chunk): each thread reads its windows, finds the all-zero clusters and compares the others
 * with the previous image's bytes (read from the previous layers' files), and leaves one code
 * per cluster (KEEP, STORE, MARK_ZERO, CHECK). Only the codes go back to the caller, which
 * reads the few clusters it stores itself. Reading and comparing a whole volume is the costly
 * part of a backup and one thread cannot copy from the page cache as fast as two.
 * Windows are posted with {@link post} and taken back in the same order with {@link take}.
 */
export class ParallelScanner {
  readonly inFlightLimit: number;
  private readonly lanes: Lane[] = [];
  private readonly perWindow: number;
  private posted = 0;
  private taken = 0;
  private released = 0;

  constructor(
    private readonly options: {
      /** The volume (byte 0 of the file is byte 0 of the volume). */
      fd: number;
      /** Files of the previous chain's layers, by layer index. */
      layers: ReadonlyArray<{ fd: number; size: number }>;
      clusterSize: number;
      /** Bytes per window, a multiple of the cluster size. */
      windowBytes: number;
      threads: number;
      /** Windows each thread may hold; 2 by default. */
      slots?: number;
      /** Bytes per read inside a window; 256 KiB by default (stays in the CPU cache). */
      readBytes?: number;
    },
  ) {
    const { clusterSize, windowBytes, threads } = options;
    const slots = options.slots ?? 2;
    const readBytes = Math.max(
      clusterSize,
      Math.min(windowBytes, options.readBytes ?? 256 * 1024),
    );
    if (
      windowBytes % clusterSize !== 0 ||
      readBytes % clusterSize !== 0 ||
      threads < 1 ||
      slots < 1
    ) {
      throw invalidArgument(
        'parallel scans need windows and reads of whole clusters, one thread and one slot at least',
      );
    }
    this.perWindow = windowBytes / clusterSize;
    this.inFlightLimit = threads * slots;
    // Loaded on first use: node:worker_threads takes about 13 ms to load, which every run of
    // a short command would pay otherwise.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker } =
      require('node:worker_threads') as typeof import('node:worker_threads');
    for (let index = 0; index < threads; index++) {
      const states = new SharedArrayBuffer(slots * 4);
      const heads = new SharedArrayBuffer(slots * 16);
      const layerMaps = new SharedArrayBuffer(slots * this.perWindow * 2);
      const hostMaps = new SharedArrayBuffer(slots * this.perWindow * 8);
      const codeMaps = new SharedArrayBuffer(slots * this.perWindow);
      const error = new SharedArrayBuffer(4096);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          fd: options.fd,
          layers: options.layers.map(l => ({ fd: l.fd, size: l.size })),
          clusterSize,
          readBytes,
          slots,
          perWindow: this.perWindow,
          states,
          heads,
          layerMaps,
          hostMaps,
          codeMaps,
          error,
        },
        stdout: false,
        stderr: false,
      });
      // Not unref'd: a pending Atomics.waitAsync does not keep the process alive, the
      // threads do (close() ends them).
      this.lanes.push({
        worker,
        states: new Int32Array(states),
        heads: new Float64Array(heads),
        layers: new Int16Array(layerMaps),
        hosts: new Float64Array(hostMaps),
        codes: new Uint8Array(codeMaps),
        error: Buffer.from(error),
      });
    }
  }

  /** Windows posted and not yet released. */
  get inFlight(): number {
    return this.posted - this.released;
  }

  /**
   * Hands the next window to its thread. `fill` writes the previous state of each cluster
   * into the plan's arrays (which start as PREVIOUS_ZERO); at most `inFlightLimit` windows
   * may be in flight.
   */
  post(
    offset: number,
    length: number,
    fill?: (plan: WindowPlan) => void,
  ): void {
    if (this.inFlight >= this.inFlightLimit)
      throw invalidArgument('too many windows in flight');
    if (length > this.perWindow * this.options.clusterSize)
      throw invalidArgument(`window of ${length} bytes is too long`);
    const { lane, slot } = this.place(this.posted++);
    const first = slot * this.perWindow;
    const plan: WindowPlan = {
      offset,
      length,
      layers: lane.layers.subarray(first, first + this.perWindow),
      hosts: lane.hosts.subarray(first, first + this.perWindow),
    };
    plan.layers.fill(PREVIOUS_ZERO);
    fill?.(plan);
    lane.heads[2 * slot] = offset;
    lane.heads[2 * slot + 1] = length;
    Atomics.store(lane.states, slot, POSTED);
    Atomics.notify(lane.states, slot);
  }

  /**
   * Waits for the oldest window not yet taken and returns its codes, one per cluster, valid
   * until that window is released.
   */
  async take(): Promise<Uint8Array> {
    if (this.taken === this.posted) throw invalidArgument('no window posted');
    const { lane, slot } = this.place(this.taken++);
    for (;;) {
      const state = Atomics.load(lane.states, slot);
      if (state === DONE) break;
      if (state === FAILED) {
        const text = lane.error.toString('utf8');
        const message = text.slice(0, text.indexOf('\0'));
        throw message.startsWith('corrupt: ')
          ? corrupt(message.slice('corrupt: '.length))
          : new Error(`parallel scan failed: ${message}`);
      }
      const wait = Atomics.waitAsync(lane.states, slot, state);
      if (wait.async) await wait.value;
    }
    const first = slot * this.perWindow;
    return lane.codes.subarray(first, first + this.perWindow);
  }

  /** Stops the threads (also when the pass ended early). */
  async close(): Promise<void> {
    for (const lane of this.lanes) {
      for (let slot = 0; slot < lane.states.length; slot++) {
        Atomics.store(lane.states, slot, STOP);
        Atomics.notify(lane.states, slot);
      }
    }
    await Promise.all(this.lanes.map(lane => lane.worker.terminate()));
  }

  /** Gives the oldest taken window's slot back to its thread. */
  release(): void {
    if (this.released === this.taken) throw invalidArgument('no window taken');
    const { lane, slot } = this.place(this.released++);
    Atomics.store(lane.states, slot, FREE);
  }

  private place(window: number): { lane: Lane; slot: number } {
    const lane = this.lanes[window % this.lanes.length];
    const slot = Math.floor(window / this.lanes.length) % lane.states.length;
    return { lane, slot };
  }
}
