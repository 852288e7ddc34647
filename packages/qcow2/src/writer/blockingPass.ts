import type { RangeSource } from '../io';
import { invalidArgument } from '../format/errors';
import { ParallelFileReader } from '../file/ParallelFileReader';
import type { Segment } from '../plan/segments';
import { ZeroDetector, asBuffer } from './ZeroDetector';

/**
 * Below this many bytes to read, one thread reads: starting worker threads costs about 30 ms
 * of CPU each, more than they save on a few hundred MiB.
 */
export const PARALLEL_MIN_BYTES = 1024 ** 3;
/** Reading threads for large passes (two saturate the page-cache copy on 2 to 4 cores). */
export const DEFAULT_READ_THREADS = 2;

/** A read segment's bytes in a blocking pass. */
export interface BlockingChunk {
  bytes: Buffer;
  /** True when cluster `index` of `bytes` (the last may be partial) is all zeros. */
  isZeroCluster(index: number): boolean;
}

/**
 * Walks the segments of a pass with blocking reads: each read segment is read (on this thread,
 * or by `readThreads` worker threads when the source has a file descriptor and the pass is
 * large) and handed to `visit` with its bytes, which are valid until `visit` resolves.
 */
export async function blockingPass(options: {
  source: RangeSource;
  segments: () => Iterable<Segment>;
  chunkBytes: number;
  clusterSize: number;
  zeros: ZeroDetector;
  /** Worker threads reading; by default 2 for passes of at least 1 GiB, else none. */
  readThreads?: number;
  visit: (segment: Segment, chunk?: BlockingChunk) => Promise<void>;
}): Promise<void> {
  const { source, chunkBytes, clusterSize, zeros, visit } = options;
  let count = 0;
  let readBytes = 0;
  for (const segment of options.segments()) {
    if (segment.kind === 'read') {
      count++;
      readBytes += segment.length;
    }
  }
  const threads =
    options.readThreads ??
    (readBytes >= PARALLEL_MIN_BYTES ? DEFAULT_READ_THREADS : 0);
  if (threads > 0 && source.fd !== undefined) {
    const pairs = new Float64Array(2 * count);
    let i = 0;
    for (const segment of options.segments()) {
      if (segment.kind !== 'read') continue;
      pairs[i++] = segment.offset;
      pairs[i++] = segment.length;
    }
    const reader = new ParallelFileReader({
      fd: source.fd,
      segments: pairs,
      chunkBytes,
      clusterSize,
      threads,
    });
    try {
      for (const segment of options.segments()) {
        if (segment.kind !== 'read') {
          await visit(segment);
          continue;
        }
        const chunk = reader.next();
        if (!chunk || chunk.offset !== segment.offset)
          throw invalidArgument(
            `parallel reads lost their place at ${segment.offset}`,
          );
        await visit(segment, chunk);
      }
    } finally {
      await reader.close();
    }
    return;
  }
  if (!source.readIntoSync)
    throw invalidArgument('blocking reads need a source with readIntoSync');
  const buffer = Buffer.allocUnsafe(chunkBytes);
  for (const segment of options.segments()) {
    if (segment.kind !== 'read') {
      await visit(segment);
      continue;
    }
    const bytes = asBuffer(buffer.subarray(0, segment.length));
    source.readIntoSync(bytes, segment.offset);
    await visit(segment, {
      bytes,
      isZeroCluster: index =>
        zeros.isZero(
          bytes,
          index * clusterSize,
          Math.min(bytes.length, (index + 1) * clusterSize),
        ),
    });
  }
}
