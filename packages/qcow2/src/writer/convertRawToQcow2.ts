import type { PositionalSink, RangeSource } from '../io';
import { ByteRange, Segment, segmentPlanner } from '../plan/segments';
import { readSourceInto } from '../reader/readSource';
import type { CompressionOptions } from '../compress/clusterCodec';
import {
  createQcow2Writer,
  type EncryptionOptions,
  Qcow2WriteResult,
  Qcow2Writer,
} from './Qcow2Writer';
import { SequentialReader } from './SequentialReader';
import { blockingPass } from './blockingPass';
import {
  parallelPass,
  readBytesOf,
  scanThreads,
  WINDOW_BYTES,
} from './parallelPass';
import { ZeroDetector, asBuffer } from './ZeroDetector';

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
export const DEFAULT_READ_DEPTH = 8;

export interface ConvertRawOptions {
  /** The raw volume (a block device or a file). */
  source: RangeSource;
  sink: PositionalSink;
  /** Bytes of the volume; the source's size by default. */
  virtualSize?: number;
  clusterSize?: number;
  /**
   * Ranges of the volume that may hold data, when known (FIEMAP of a sparse file, CSI
   * GetMetadataAllocated of a snapshot): the rest is not read and is stored as zeros.
   */
  allocated?: readonly ByteRange[];
  /**
   * Sequential read size; 1 MiB (or one cluster if larger) by default, and with `blocking`
   * 256 KiB when read on the calling thread.
   */
  chunkBytes?: number;
  /** Reads in flight at once; 8 by default. */
  readDepth?: number;
  /**
   * Blocking I/O: read with the source's `readIntoSync` and write with the sink's `writeSync`
   * (when they have them), one chunk at a time on the calling thread. For local files this is
   * faster than the thread pool (no hand-off per read and write, the chunk stays in the CPU
   * cache), but the event loop waits for every read and write: meant for a process that does
   * nothing else, like the benchmark's CLI. False by default.
   */
  blocking?: boolean;
  /**
   * Threads scanning the source (it must have `fd`: a local file or device): they read it and
   * zero-check every cluster, and the calling thread reads and stores only the non-zero ones
   * (`parallelPass`; in blocking mode the calling thread is one of them). By default one per
   * core, at most 4, when at least 1 GiB is to be read on 2 cores or more, else 0 (one thread
   * does everything).
   */
  readThreads?: number;
  /**
   * With `blocking` and no scanning threads: reads in flight through the thread pool while the
   * calling thread checks and writes (0: read on the calling thread); by default 4 when a
   * core is idle (1-minute load average), else 0.
   */
  readAhead?: number;
  /** Compressed data clusters (deflate or zstd), see `Qcow2WriterOptions.compression`. */
  compression?: CompressionOptions;
  /** LUKS encryption, see `Qcow2WriterOptions.encryption`. */
  encryption?: EncryptionOptions;
  onProgress?: (progress: { doneBytes: number; totalBytes: number }) => void;
}

/**
 * Full backup: reads a raw volume once, sequentially, and writes a base QCOW2 image holding
 * only its non-zero clusters. The sink is aborted if anything fails.
 */
export async function convertRawToQcow2(
  options: ConvertRawOptions,
): Promise<Qcow2WriteResult> {
  const virtualSize = options.virtualSize ?? (await options.source.size());
  const blocking = Boolean(options.blocking && options.source.readIntoSync);
  const writer = await createQcow2Writer({
    sink: options.sink,
    virtualSize,
    clusterSize: options.clusterSize,
    blocking,
    compression: options.compression,
    encryption: options.encryption,
  });
  const { clusterSize } = writer.geometry;
  const chunkBytes =
    options.chunkBytes ?? Math.max(DEFAULT_CHUNK_BYTES, clusterSize);
  try {
    const plan = segmentPlanner({
      size: virtualSize,
      clusterSize,
      chunkBytes,
      allocated: options.allocated,
    });
    const zeros = new ZeroDetector();
    const progress = (segment: Segment) =>
      options.onProgress?.({
        doneBytes: segment.offset + segment.length,
        totalBytes: virtualSize,
      });
    const threads = scanThreads({
      source: options.source,
      readBytes: readBytesOf(plan(WINDOW_BYTES)),
      requested: options.readThreads,
    });
    if (threads > 0) {
      await parallelPass({
        source: options.source,
        writer,
        blocking,
        segments: plan(WINDOW_BYTES),
        threads,
        hole: async () => undefined,
        kept: () => undefined,
        progress,
      });
      return await writer.finish();
    }
    if (blocking) {
      await blockingPass({
        source: options.source,
        segments: plan,
        chunkBytes: options.chunkBytes,
        clusterSize,
        readAhead: options.readAhead,
        visit: async (segment, bytes) => {
          // Every write is done when the promise resolves: the buffer can be reused.
          if (bytes) {
            await writeNonZeroClusters({
              writer,
              zeros,
              bytes,
              offset: segment.offset,
            });
          }
          progress(segment);
        },
      });
      return await writer.finish();
    }
    const reader = new SequentialReader({
      segments: plan(chunkBytes),
      read: (segment, target) =>
        readSourceInto(
          options.source,
          target.subarray(0, segment.length),
          segment.offset,
        ),
      bufferBytes: chunkBytes,
      depth: options.readDepth ?? DEFAULT_READ_DEPTH,
    });
    for (let step = await reader.next(); step; step = await reader.next()) {
      const { segment } = step;
      if (segment.kind === 'read') {
        await writeNonZeroClusters({
          writer,
          zeros,
          bytes: step.bytes!.subarray(0, segment.length),
          offset: segment.offset,
        });
      }
      progress(segment);
    }
    return await writer.finish();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
}

/** Stores the non-zero clusters of a cluster-aligned chunk, in runs of adjacent clusters. */
async function writeNonZeroClusters(options: {
  writer: Qcow2Writer;
  zeros: ZeroDetector;
  bytes: Uint8Array;
  offset: number;
}): Promise<void> {
  const { writer, zeros } = options;
  const bytes = asBuffer(options.bytes);
  const { clusterSize } = writer.geometry;
  const firstCluster = options.offset / clusterSize;
  let runStart = -1;
  for (let at = 0; at < bytes.length; at += clusterSize) {
    const end = Math.min(at + clusterSize, bytes.length);
    if (zeros.isZero(bytes, at, end)) {
      if (runStart >= 0) {
        await writer.writeClusters(
          firstCluster + runStart / clusterSize,
          bytes.subarray(runStart, at),
        );
        runStart = -1;
      }
    } else if (runStart < 0) {
      runStart = at;
    }
  }
  if (runStart >= 0)
    await writer.writeClusters(
      firstCluster + runStart / clusterSize,
      bytes.subarray(runStart),
    );
}
