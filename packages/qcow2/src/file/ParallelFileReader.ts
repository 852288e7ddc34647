import type { Worker as WorkerType } from 'node:worker_threads';
import { invalidArgument } from '../format/errors';

/**
 * The worker's code, evaluated in each thread (plain JavaScript, so it needs no bundling).
 * Worker `w` of `n` reads the read segments `w, w + n, w + 2n, …` into its ring of `slots`
 * buffers (in order, slot = turn % slots), marks which clusters are all zero, and hands each
 * slot over through its state word: 0 free, 1 ready, 2 failed (message in the error area),
 * 3 stop (set by the main thread to end the worker early).
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { fd, index, count, segments, data, states, flags, error, chunkBytes, clusterSize, slots } = workerData;
const bytes = Buffer.from(data);
const state = new Int32Array(states);
const zero = new Uint8Array(flags);
const perChunk = chunkBytes / clusterSize;
const fail = (slot, message) => {
  Buffer.from(error).write(message.slice(0, 1000) + '\\0');
  Atomics.store(state, slot, 2);
  Atomics.notify(state, slot);
};
let turn = 0;
let stopped = false;
for (let j = index; j < segments.length / 2 && !stopped; j += count, turn++) {
  const slot = turn % slots;
  for (let s = Atomics.load(state, slot); s !== 0; s = Atomics.load(state, slot)) {
    if (s === 3) { stopped = true; break; }
    Atomics.wait(state, slot, s);
  }
  if (stopped) break;
  const offset = segments[2 * j];
  const length = segments[2 * j + 1];
  const base = slot * chunkBytes;
  try {
    let done = 0;
    while (done < length) {
      const got = readSync(fd, bytes, base + done, length - done, offset + done);
      if (got === 0) throw new Error('the file ended at ' + (offset + done) + ' while reading ' + length + ' bytes at ' + offset);
      done += got;
    }
    for (let c = 0, at = base; at < base + length; c++, at += clusterSize) {
      const end = Math.min(at + clusterSize, base + length);
      let isZero = true;
      const head = Math.min(end, at + 8);
      for (let i = at; i < head; i++) if (bytes[i] !== 0) { isZero = false; break; }
      if (isZero && head < end) isZero = bytes.compare(bytes, at + 8, end, at, end - 8) === 0;
      zero[slot * perChunk + c] = isZero ? 1 : 0;
    }
  } catch (e) {
    fail(slot, String((e && e.message) || e));
    break;
  }
  Atomics.store(state, slot, 1);
  Atomics.notify(state, slot);
}
`;

/** One read segment as handed out by {@link ParallelFileReader.next}. */
export interface ParallelChunk {
  offset: number;
  /** The bytes read; valid until {@link ParallelFileReader.release}. */
  bytes: Buffer;
  /** Whether each cluster of `bytes` (the last may be partial) is all zeros. */
  isZeroCluster(index: number): boolean;
}

interface Lane {
  worker: WorkerType;
  bytes: Buffer;
  states: Int32Array;
  flags: Uint8Array;
  error: Buffer;
}

/**
 * Reads a list of segments of a local file with several threads (worker_threads doing
 * blocking `pread`), each thread also telling which clusters are all zero, and hands the
 * chunks back in order. Reading and zero-checking are the costly part of reading a whole
 * device, and one thread cannot copy from the page cache as fast as two. The caller blocks
 * (Atomics.wait) until the next chunk is ready; memory is `threads * slots * chunkBytes`.
 */
export class ParallelFileReader {
  private readonly lanes: Lane[];
  private readonly perChunk: number;
  private nextIndex = 0;
  private current?: { lane: Lane; slot: number };
  private closed = false;

  constructor(
    private readonly options: {
      fd: number;
      /** Read segments as (offset, length) pairs, each at most `chunkBytes` long. */
      segments: Float64Array;
      chunkBytes: number;
      clusterSize: number;
      threads: number;
      slots?: number;
    },
  ) {
    const { chunkBytes, clusterSize, threads } = options;
    const slots = options.slots ?? 4;
    if (chunkBytes % clusterSize !== 0 || threads < 1 || slots < 1) {
      throw invalidArgument(
        'parallel reads need chunks of whole clusters, one thread and one slot at least',
      );
    }
    this.perChunk = chunkBytes / clusterSize;
    // Loaded on first use: node:worker_threads takes about 13 ms to load, which every run of
    // a short command would pay otherwise.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker } =
      require('node:worker_threads') as typeof import('node:worker_threads');
    const shared = new SharedArrayBuffer(options.segments.byteLength);
    new Float64Array(shared).set(options.segments);
    this.lanes = [];
    for (let index = 0; index < threads; index++) {
      const data = new SharedArrayBuffer(slots * chunkBytes);
      const states = new SharedArrayBuffer(slots * 4);
      const flags = new SharedArrayBuffer(slots * this.perChunk);
      const error = new SharedArrayBuffer(4096);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          fd: options.fd,
          index,
          count: threads,
          segments: new Float64Array(shared),
          data,
          states,
          flags,
          error,
          chunkBytes,
          clusterSize,
          slots,
        },
        stdout: false,
        stderr: false,
      });
      worker.unref();
      this.lanes.push({
        worker,
        bytes: Buffer.from(data),
        states: new Int32Array(states),
        flags: new Uint8Array(flags),
        error: Buffer.from(error),
      });
    }
  }

  /** Waits for the next segment's bytes (the previous one is released first). */
  next(): ParallelChunk | undefined {
    this.release();
    const count = this.options.segments.length / 2;
    if (this.closed || this.nextIndex >= count) return undefined;
    const j = this.nextIndex++;
    const lane = this.lanes[j % this.lanes.length];
    const slots = lane.states.length;
    const slot = Math.floor(j / this.lanes.length) % slots;
    while (Atomics.load(lane.states, slot) === 0)
      Atomics.wait(lane.states, slot, 0, 1000);
    if (Atomics.load(lane.states, slot) === 2) {
      const text = lane.error.toString('utf8');
      throw invalidArgument(
        `parallel read failed: ${text.slice(0, text.indexOf('\0'))}`,
      );
    }
    this.current = { lane, slot };
    const { chunkBytes } = this.options;
    const offset = this.options.segments[2 * j];
    const length = this.options.segments[2 * j + 1];
    const flags = lane.flags;
    const first = slot * this.perChunk;
    return {
      offset,
      bytes: lane.bytes.subarray(slot * chunkBytes, slot * chunkBytes + length),
      isZeroCluster: index => flags[first + index] === 1,
    };
  }

  /** Gives the current chunk's buffer back to its thread. */
  release(): void {
    if (!this.current) return;
    const { lane, slot } = this.current;
    this.current = undefined;
    Atomics.store(lane.states, slot, 0);
    Atomics.notify(lane.states, slot);
  }

  /** Stops the threads (also when the pass ended early). */
  async close(): Promise<void> {
    this.closed = true;
    this.current = undefined;
    for (const lane of this.lanes) {
      for (let slot = 0; slot < lane.states.length; slot++) {
        Atomics.store(lane.states, slot, 3);
        Atomics.notify(lane.states, slot);
      }
    }
    await Promise.all(this.lanes.map(lane => lane.worker.terminate()));
  }
}
