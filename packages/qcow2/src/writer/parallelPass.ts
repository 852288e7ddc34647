import { availableParallelism } from 'node:os';
import type { RangeSource } from '../io';
import { invalidArgument } from '../format/errors';
import {
  CHECK,
  KEEP,
  MARK_ZERO,
  ParallelScanner,
  PREVIOUS_MIXED,
  STORE,
  WindowPlan,
} from '../file/ParallelScanner';
import type { Segment } from '../plan/segments';
import type { Qcow2Chain } from '../reader/Qcow2Chain';
import { readSourceInto } from '../reader/readSource';
import type { Qcow2Writer } from './Qcow2Writer';

/**
 * Below this many bytes to read, one thread does everything: starting a worker thread costs
 * about 25 ms of CPU, more than it saves on a few hundred MiB.
 */
export const PARALLEL_MIN_BYTES = 1024 ** 3;
/** At most this many scanning threads by default (one per core up to it). */
export const MAX_SCAN_THREADS = 4;
/** Bytes per window handed to a scanning thread. */
export const WINDOW_BYTES = 32 * 1024 * 1024;
/** Bytes of a run of stored clusters read and written at once by the calling thread. */
const RUN_BYTES = 1024 * 1024;

/**
 * Scanning threads for a pass: `requested` when given, else one per core (at most 4) for
 * passes reading at least 1 GiB on a machine with 2 cores or more. 0 when the volume or a
 * previous layer is not a local file (no descriptor a thread could read).
 */
export function scanThreads(options: {
  source: RangeSource;
  previous?: Qcow2Chain;
  readBytes: number;
  requested?: number;
}): number {
  const files =
    options.source.fd !== undefined &&
    (options.previous?.layers.every(l => l.source.fd !== undefined) ?? true);
  if (!files) return 0;
  if (options.requested !== undefined) return options.requested;
  const cores = availableParallelism();
  return options.readBytes >= PARALLEL_MIN_BYTES && cores >= 2
    ? Math.min(cores, MAX_SCAN_THREADS)
    : 0;
}

/** Bytes a pass reads (its read segments). */
export function readBytesOf(segments: Iterable<Segment>): number {
  let bytes = 0;
  for (const segment of segments)
    if (segment.kind === 'read') bytes += segment.length;
  return bytes;
}

/**
 * A writing pass with scanning threads ({@link ParallelScanner}): the threads read the volume
 * and decide per cluster (compared with `previous` when given, else with zeros); this thread
 * plans each window from the previous chain's map, then reads and stores only the clusters
 * that changed, in order, while the threads scan ahead.
 */
export async function parallelPass(options: {
  source: RangeSource;
  writer: Qcow2Writer;
  previous?: Qcow2Chain;
  /**
   * Blocking mode: this thread is one of the `threads` scanning (synchronously, while it
   * waits for a window) and reads the stored clusters with the source's `readIntoSync`.
   */
  blocking: boolean;
  /** The pass: read segments at most {@link WINDOW_BYTES} long, and holes. */
  segments: Iterable<Segment>;
  threads: number;
  /** A hole of the volume (not read). */
  hole: (segment: Segment) => Promise<void>;
  /** A cluster whose previous bytes span several extents: the caller compares it. */
  check?: (offset: number, length: number) => Promise<void>;
  /** Clusters left as they were (unallocated). */
  kept: (clusters: number) => void;
  progress: (segment: Segment) => void;
}): Promise<void> {
  const { source, writer, previous } = options;
  const { clusterSize } = writer.geometry;
  const scanner = new ParallelScanner({
    fd: source.fd!,
    layers: (previous?.layers ?? []).map(layer => ({
      fd: layer.source.fd!,
      size: layer.fileSize,
    })),
    clusterSize,
    windowBytes: WINDOW_BYTES,
    // Blocking mode: this thread scans too (one worker fewer to start, none idle meanwhile).
    workers: options.blocking ? options.threads - 1 : options.threads,
    callerScans: options.blocking,
  });
  const segments = options.segments[Symbol.iterator]();
  const queue: Segment[] = [];
  let exhausted = false;
  const postAhead = async () => {
    while (!exhausted && scanner.inFlight < scanner.inFlightLimit) {
      const next = segments.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const segment = next.value;
      queue.push(segment);
      if (segment.kind !== 'read') continue;
      const extents = previous
        ? await previousExtents(previous, segment)
        : undefined;
      scanner.post(segment.offset, segment.length, plan =>
        extents
          ? planWindow(plan, extents, clusterSize, previous!.layers)
          : undefined,
      );
    }
  };
  const run = Buffer.allocUnsafe(Math.max(RUN_BYTES, clusterSize));
  try {
    await postAhead();
    for (let segment = queue.shift(); segment; segment = queue.shift()) {
      if (segment.kind === 'read') {
        const codes = await scanner.take();
        await applyCodes({ ...options, segment, codes, run, clusterSize });
        scanner.release();
      } else {
        await options.hole(segment);
      }
      options.progress(segment);
      await postAhead();
    }
  } finally {
    await scanner.close();
  }
}

/** The previous chain's extents over a window (none past its end). */
async function previousExtents(previous: Qcow2Chain, segment: Segment) {
  const inside = Math.max(
    0,
    Math.min(segment.length, previous.virtualSize - segment.offset),
  );
  return inside > 0 ? previous.resolveRange(segment.offset, inside) : [];
}

/**
 * Writes into a window's plan where each cluster's previous bytes are: one layer's file at a
 * host offset when one data extent covers the whole cluster, zeros when only zero extents (or
 * nothing) touch it, else mixed.
 */
function planWindow(
  plan: WindowPlan,
  extents: Awaited<ReturnType<Qcow2Chain['resolveRange']>>,
  clusterSize: number,
  layers: Qcow2Chain['layers'],
): void {
  const end = plan.offset + plan.length;
  for (const extent of extents) {
    if (extent.kind === 'zero') continue;
    // Bytes the threads cannot compare as stored (compressed, or encrypted): the caller does.
    const opaque =
      extent.kind === 'compressed' || Boolean(layers[extent.layer].cipher);
    const extentEnd = extent.offset + extent.length;
    const first = Math.floor((extent.offset - plan.offset) / clusterSize);
    const last = Math.ceil((extentEnd - plan.offset) / clusterSize);
    for (let i = first; i < last; i++) {
      const start = plan.offset + i * clusterSize;
      const stop = Math.min(start + clusterSize, end);
      if (!opaque && extent.offset <= start && extentEnd >= stop) {
        plan.layers[i] = extent.layer;
        plan.hosts[i] = extent.hostOffset + (start - extent.offset);
      } else {
        plan.layers[i] = PREVIOUS_MIXED;
      }
    }
  }
}

/** Stores a window's changed clusters in order: runs of STORE are read here and written. */
async function applyCodes(options: {
  source: RangeSource;
  writer: Qcow2Writer;
  segment: Segment;
  codes: Uint8Array;
  run: Buffer;
  clusterSize: number;
  blocking: boolean;
  check?: (offset: number, length: number) => Promise<void>;
  kept: (clusters: number) => void;
}): Promise<void> {
  const { source, writer, segment, codes, run, clusterSize } = options;
  const firstCluster = segment.offset / clusterSize;
  const count = Math.ceil(segment.length / clusterSize);
  const perRun = run.length / clusterSize;
  let runStart = -1;
  let kept = 0;
  // Called only with a run pending (an await per cluster costs more than the loop).
  const flush = async (end: number) => {
    const from = runStart * clusterSize;
    const bytes = run.subarray(
      0,
      Math.min(end * clusterSize, segment.length) - from,
    );
    if (options.blocking && source.readIntoSync)
      source.readIntoSync(bytes, segment.offset + from);
    else await readSourceInto(source, bytes, segment.offset + from);
    await writer.writeClusters(firstCluster + runStart, bytes);
    runStart = -1;
  };
  for (let i = 0; i < count; i++) {
    const code = codes[i];
    if (code === STORE) {
      if (runStart < 0) runStart = i;
      else if (i - runStart === perRun) {
        await flush(i);
        runStart = i;
      }
      continue;
    }
    if (runStart >= 0) await flush(i);
    if (code === KEEP) kept++;
    else if (code === MARK_ZERO) await writer.markZero(firstCluster + i);
    else if (code === CHECK) {
      if (!options.check)
        throw invalidArgument(
          'a cluster to check in a pass with no previous image',
        );
      const at = i * clusterSize;
      await options.check(
        segment.offset + at,
        Math.min(clusterSize, segment.length - at),
      );
    }
  }
  if (runStart >= 0) await flush(count);
  options.kept(kept);
}
