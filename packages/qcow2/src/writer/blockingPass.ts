import { availableParallelism, loadavg } from 'node:os';
import type { RangeSource } from '../io';
import { invalidArgument } from '../format/errors';
import type { Segment } from '../plan/segments';
import { SequentialReader } from './SequentialReader';
import { asBuffer } from './ZeroDetector';

const SMALL_CHUNK_BYTES = 256 * 1024;
const LARGE_CHUNK_BYTES = 1024 * 1024;
/** Reads in flight ahead of a blocking pass. */
export const DEFAULT_READ_AHEAD = 4;

/**
 * Walks the segments of a pass with blocking reads on this thread (or reads ahead through the
 * thread pool): each read segment is handed to `visit` with its bytes, which are valid until
 * `visit` resolves. Large passes over local files use `parallelPass` instead.
 */
export async function blockingPass(options: {
  source: RangeSource;
  /** The pass cut into chunks of at most `chunkBytes` (a multiple of the cluster size). */
  segments: (chunkBytes: number) => Iterable<Segment>;
  /** Bytes per read; by default 256 KiB without read-ahead, else 1 MiB. */
  chunkBytes?: number;
  clusterSize: number;
  /**
   * Reads in flight through the thread pool (the source's async `readInto`) while this thread
   * checks and writes; 0 reads on this thread. By default 4 when a core is idle (the 1-minute
   * load average is at least 0.5 below the number of cores), else 0.
   */
  readAhead?: number;
  /** Called with each segment in order, and the bytes of a read segment. */
  visit: (segment: Segment, bytes?: Buffer) => Promise<void>;
}): Promise<void> {
  const { source, clusterSize, visit } = options;
  // The thread pool only pays when a core is idle: on a busy machine it costs more CPU (cache
  // lines moved between cores) than it saves, and one thread doing everything is fastest.
  const spare = spareCores() >= 0.5;
  const readAhead = source.readInto
    ? options.readAhead ?? (spare ? DEFAULT_READ_AHEAD : 0)
    : 0;
  // Small chunks stay in the CPU cache between the read and the check on the same thread;
  // chunks handed from the thread pool to this thread do better larger (fewer hand-offs).
  const chunkBytes = Math.max(
    clusterSize,
    options.chunkBytes ??
      (readAhead === 0 ? SMALL_CHUNK_BYTES : LARGE_CHUNK_BYTES),
  );
  if (chunkBytes % clusterSize !== 0) {
    throw invalidArgument(
      `chunk bytes ${chunkBytes} must be a positive multiple of the cluster size ${clusterSize}`,
    );
  }
  if (readAhead > 0) {
    // The thread pool reads ahead (its copy runs on another core) while this thread checks
    // and writes: measured 10 to 15 % faster than reading here too.
    const reader = new SequentialReader({
      segments: options.segments(chunkBytes)[Symbol.iterator](),
      read: (segment, target) =>
        source.readInto!(target.subarray(0, segment.length), segment.offset),
      bufferBytes: chunkBytes,
      depth: readAhead,
    });
    for (let step = await reader.next(); step; step = await reader.next()) {
      const { segment } = step;
      if (segment.kind !== 'read') {
        await visit(segment);
        continue;
      }
      await visit(segment, asBuffer(step.bytes!.subarray(0, segment.length)));
    }
    return;
  }
  if (!source.readIntoSync)
    throw invalidArgument('blocking reads need a source with readIntoSync');
  const buffer = Buffer.allocUnsafe(chunkBytes);
  for (const segment of options.segments(chunkBytes)) {
    if (segment.kind !== 'read') {
      await visit(segment);
      continue;
    }
    const bytes = asBuffer(buffer.subarray(0, segment.length));
    source.readIntoSync(bytes, segment.offset);
    await visit(segment, bytes);
  }
}

/** Cores not busy on average over the last minute (this process's own recent load included). */
export function spareCores(): number {
  return availableParallelism() - loadavg()[0];
}
