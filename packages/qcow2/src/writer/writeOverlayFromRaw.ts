import { invalidArgument } from '../format/errors';
import { Segment, segmentPlanner } from '../plan/segments';
import type { Qcow2Chain } from '../reader/Qcow2Chain';
import { readSourceInto } from '../reader/readSource';
import { DEFAULT_CHUNK_BYTES, DEFAULT_READ_DEPTH, type ConvertRawOptions } from './convertRawToQcow2';
import {
  createQcow2Writer,
  type EncryptionOptions,
  Qcow2WriteResult,
  Qcow2Writer,
} from './Qcow2Writer';
import { SequentialReader } from './SequentialReader';
import { blockingPass } from './blockingPass';
import {
  readPrevious,
  writeChangedClusters,
  zeroWherePreviousHadData,
} from './overlayClusters';
import {
  parallelPass,
  readBytesOf,
  scanThreads,
  WINDOW_BYTES,
} from './parallelPass';
import { ZeroDetector } from './ZeroDetector';

/**
 * The options of `convertRawToQcow2` (the volume now, the sink, how it is read), plus the
 * previous backup's chain the overlay is written against.
 */
export interface OverlayFromRawOptions extends ConvertRawOptions {
  /** The previous backup's chain: the overlay's backing file. */
  previous: Qcow2Chain;
  /** Backing file name and format written into the overlay header. */
  backing: { name: string; format: string };
  /** Bytes of the volume; the source's size by default (it may differ from the previous one). */
  virtualSize?: number;
  /**
   * Worker threads scanning the volume, as in `convertRawToQcow2`; they also compare each
   * non-zero cluster with the previous chain's bytes (its layers must be local files too).
   */
  readThreads?: number;
  /**
   * LUKS encryption, see `Qcow2WriterOptions.encryption`; required when a layer of `previous`
   * is encrypted. `{ format: 'luks', key: previous.top.luksKey }` keeps the previous image's
   * LUKS header and master key (one key derivation opens the chain); a passphrase makes a
   * new key for this image.
   */
  encryption?: EncryptionOptions;
}

export interface OverlayWriteResult extends Qcow2WriteResult {
  /** Guest clusters identical to the previous backup (left unallocated). */
  unchangedClusters: number;
}

/**
 * Incremental backup against a previous image: reads the volume and the previous chain side by
 * side, in one sequential pass, and writes an overlay holding only the clusters that changed
 * (clusters that became zero get the zero flag). Where the previous chain holds no data only
 * the volume is read; where the volume is a known hole nothing is read. The delta engine of
 * packages/datamover does the same from a digest index instead of the previous image's bytes.
 */
export async function writeOverlayFromRaw(
  options: OverlayFromRawOptions,
): Promise<OverlayWriteResult> {
  const { previous, source } = options;
  const encrypted = previous.layers.find(layer => layer.cipher);
  if (encrypted && !options.encryption) {
    await options.sink.abort().catch(() => undefined);
    throw invalidArgument(
      `encryption is required: the overlay's backing chain is encrypted (${encrypted.name}), and an overlay would store its data in the clear`,
    );
  }
  const virtualSize = options.virtualSize ?? (await source.size());
  const blocking = Boolean(options.blocking && source.readIntoSync);
  const writer = await createQcow2Writer({
    sink: options.sink,
    virtualSize,
    clusterSize: options.clusterSize,
    backing: options.backing,
    blocking,
    compression: options.compression,
    encryption: options.encryption,
  });
  const { clusterSize } = writer.geometry;
  const chunkBytes =
    options.chunkBytes ?? Math.max(DEFAULT_CHUNK_BYTES, clusterSize);
  const state = { unchanged: 0 };
  try {
    const plan = segmentPlanner({
      size: virtualSize,
      clusterSize,
      chunkBytes,
      allocated: options.allocated,
    });
    const zeros = new ZeroDetector();
    const threads = scanThreads({
      source,
      previous,
      readBytes: readBytesOf(plan(WINDOW_BYTES)),
      requested: options.readThreads,
    });
    const pass: OverlayPassOptions = {
      ...options,
      writer,
      zeros,
      state,
      virtualSize,
      plan,
    };
    if (threads > 0) {
      await overlayParallelPass({ ...pass, threads, blocking });
      return { ...(await writer.finish()), unchangedClusters: state.unchanged };
    }
    if (blocking) {
      await overlayBlockingPass(pass);
      return { ...(await writer.finish()), unchangedClusters: state.unchanged };
    }
    // Each buffer holds the volume's bytes in its first half and the previous bytes in its second.
    const reader = new SequentialReader<boolean>({
      segments: plan(chunkBytes),
      read: async (segment, buffer) => {
        const [, previousHasData] = await Promise.all([
          readSourceInto(
            source,
            buffer.subarray(0, segment.length),
            segment.offset,
          ),
          readPrevious(
            previous,
            segment,
            buffer.subarray(chunkBytes, chunkBytes + segment.length),
          ),
        ]);
        return previousHasData;
      },
      bufferBytes: 2 * chunkBytes,
      depth: options.readDepth ?? DEFAULT_READ_DEPTH,
    });
    for (let step = await reader.next(); step; step = await reader.next()) {
      const { segment } = step;
      if (segment.kind === 'hole') {
        await zeroWherePreviousHadData({ writer, previous, segment, state });
      } else {
        const bytes = Buffer.from(
          step.bytes!.buffer,
          step.bytes!.byteOffset,
          segment.length,
        );
        const before = step.extra
          ? step.bytes!.subarray(chunkBytes, chunkBytes + segment.length)
          : undefined;
        await writeChangedClusters({
          writer,
          zeros,
          bytes,
          before,
          offset: segment.offset,
          state,
        });
      }
      options.onProgress?.({
        doneBytes: segment.offset + segment.length,
        totalBytes: virtualSize,
      });
    }
    return { ...(await writer.finish()), unchangedClusters: state.unchanged };
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
}

/** What the passes of {@link writeOverlayFromRaw} share. */
type OverlayPassOptions = OverlayFromRawOptions & {
  writer: Qcow2Writer;
  zeros: ZeroDetector;
  state: { unchanged: number };
  virtualSize: number;
  /** The pass cut into chunks of at most the given bytes. */
  plan: (chunkBytes: number) => Iterable<Segment>;
};

/**
 * The pass of {@link writeOverlayFromRaw} with scanning threads: they compare the volume with
 * the previous chain; this thread stores what changed and compares the rare clusters whose
 * previous bytes span several extents.
 */
async function overlayParallelPass(
  options: OverlayPassOptions & { threads: number; blocking: boolean },
): Promise<void> {
  const { writer, previous, source, virtualSize, state, blocking } = options;
  await parallelPass({
    source,
    writer,
    previous,
    blocking,
    segments: options.plan(WINDOW_BYTES),
    threads: options.threads,
    hole: segment =>
      zeroWherePreviousHadData({ writer, previous, segment, state }),
    check: async (offset, length) => {
      const bytes = Buffer.allocUnsafe(length);
      const before = Buffer.allocUnsafe(length);
      if (blocking && source.readIntoSync) source.readIntoSync(bytes, offset);
      else await readSourceInto(source, bytes, offset);
      const segment: Segment = { kind: 'read', offset, length };
      const had = await readPrevious(previous, segment, before, blocking);
      await writeChangedClusters({
        writer,
        zeros: options.zeros,
        bytes,
        before: had ? before : undefined,
        offset,
        state,
      });
    },
    kept: clusters => {
      state.unchanged += clusters;
    },
    progress: segment =>
      options.onProgress?.({
        doneBytes: segment.offset + segment.length,
        totalBytes: virtualSize,
      }),
  });
}

/**
 * The pass of {@link writeOverlayFromRaw} with blocking reads: one chunk of the volume (read
 * on this thread, or ahead through the thread pool) and of the previous chain at a time, then
 * the changed clusters written.
 */
async function overlayBlockingPass(options: OverlayPassOptions): Promise<void> {
  const { writer, previous, source, virtualSize } = options;
  const { clusterSize } = writer.geometry;
  let before = Buffer.alloc(0);
  await blockingPass({
    source,
    segments: options.plan,
    chunkBytes: options.chunkBytes,
    clusterSize,
    readAhead: options.readAhead,
    visit: async (segment, bytes) => {
      if (!bytes) {
        await zeroWherePreviousHadData({
          writer,
          previous,
          segment,
          state: options.state,
        });
      } else {
        if (before.length < segment.length)
          before = Buffer.allocUnsafe(segment.length);
        const then = before.subarray(0, segment.length);
        const previousHasData = await readPrevious(
          previous,
          segment,
          then,
          true,
        );
        await writeChangedClusters({
          writer,
          zeros: options.zeros,
          bytes,
          before: previousHasData ? then : undefined,
          offset: segment.offset,
          state: options.state,
        });
      }
      options.onProgress?.({
        doneBytes: segment.offset + segment.length,
        totalBytes: virtualSize,
      });
    },
  });
}
