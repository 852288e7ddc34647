import type { DiskSink } from '../io';
import { invalidArgument } from '../format/errors';
import {
  extentPiece,
  type ChainExtent,
  type Qcow2Chain,
} from '../reader/Qcow2Chain';
import { ZeroDetector, asBuffer } from '../writer/ZeroDetector';
import { BufferPool } from './BufferPool';

const ZERO_BLOCK = 4096;
/** Piece size in blocking mode: a piece is still in the CPU cache when checked and written. */
const BLOCKING_IO_BYTES = 256 * 1024;

/**
 * Calls `write(start, end)` for each run of non-zero 4 KiB blocks of `bytes` (in order) and
 * returns the zero bytes between them, which need not be written to a zeroed sink.
 */
function forEachNonZeroRun(
  bytes: Buffer,
  zeros: ZeroDetector,
  write: (start: number, end: number) => void,
): number {
  let skipped = 0;
  let runStart = -1;
  for (let at = 0; at < bytes.length; at += ZERO_BLOCK) {
    const end = Math.min(at + ZERO_BLOCK, bytes.length);
    if (zeros.isZero(bytes, at, end)) {
      skipped += end - at;
      if (runStart >= 0) write(runStart, at);
      runStart = -1;
    } else if (runStart < 0) {
      runStart = at;
    }
  }
  if (runStart >= 0) write(runStart, bytes.length);
  return skipped;
}

/** Writes the non-zero 4 KiB blocks of `bytes` in runs; returns the zero bytes skipped. */
async function writeNonZeroBlocks(options: {
  sink: DiskSink;
  bytes: Buffer;
  offset: number;
  zeros: ZeroDetector;
}): Promise<number> {
  const { sink, bytes, offset } = options;
  const writes: Array<Promise<void>> = [];
  const skipped = forEachNonZeroRun(bytes, options.zeros, (start, end) =>
    writes.push(sink.write(bytes.subarray(start, end), offset + start)),
  );
  await Promise.all(writes);
  return skipped;
}

export interface HydrateOptions {
  chain: Qcow2Chain;
  sink: DiskSink;
  /** Reads/writes in flight at once; 8 by default. */
  concurrency?: number;
  /** Largest single read/write; 1 MiB by default. */
  ioBytes?: number;
  /** Guest bytes resolved per step (bounds the extent list); 256 MiB by default. */
  windowBytes?: number;
  /**
   * On sinks that read unwritten ranges as zeros, also skip all-zero 4 KiB blocks inside data
   * (true by default).
   */
  skipZeroBlocks?: boolean;
  /**
   * Blocking I/O: read with the layers' `readIntoSync` and write with the sink's `writeSync`,
   * one piece at a time on the calling thread, when all of them have these methods (local
   * files). Faster on page-cached files and few cores, but the event loop waits for every
   * read and write: meant for a process that does nothing else. False by default.
   */
  blocking?: boolean;
  /** Called after each write with the guest bytes handled so far. */
  onProgress?: (progress: { doneBytes: number; totalBytes: number }) => void;
}

export interface HydrateResult {
  virtualSize: number;
  /** Guest bytes read from image data (zero blocks inside it included). */
  dataBytes: number;
  /** Zero bytes written to the sink (only for sinks that do not read unwritten ranges as zeros). */
  zeroBytesWritten: number;
  /**
   * Zero bytes not written because the sink already reads them as zeros: zero and unallocated
   * extents, plus zero 4 KiB blocks inside data when `skipZeroBlocks` is on.
   */
  zeroBytesSkipped: number;
  /** Data bytes copied, per layer, top first. */
  bytesPerLayer: number[];
}

/**
 * Writes the whole virtual disk of a chain to `sink` in one walk: each extent comes from the
 * topmost layer that holds it; guest-adjacent extents are gathered into large writes; zero
 * runs are skipped for sparse sinks and written for block devices. Several reads and writes
 * run at once, bounded by a pool of `concurrency` buffers of `ioBytes`.
 */
export async function hydrate(options: HydrateOptions): Promise<HydrateResult> {
  const { chain, sink } = options;
  const concurrency = options.concurrency ?? 8;
  const blocking = Boolean(
    options.blocking && sink.writeSync && chain.canReadBlocking,
  );
  const ioBytes =
    options.ioBytes ?? (blocking ? BLOCKING_IO_BYTES : 1024 * 1024);
  const windowBytes = options.windowBytes ?? 256 * 1024 * 1024;
  if (!(concurrency >= 1 && ioBytes >= 4096 && windowBytes >= ioBytes)) {
    throw invalidArgument(
      `hydrate needs concurrency >= 1, ioBytes >= 4096 and windowBytes >= ioBytes`,
    );
  }
  const total = chain.virtualSize;
  const result: HydrateResult = {
    virtualSize: total,
    dataBytes: 0,
    zeroBytesWritten: 0,
    zeroBytesSkipped: 0,
    bytesPerLayer: chain.layers.map(() => 0),
  };
  const zeros = new ZeroDetector();
  if (blocking) {
    return hydrateBlocking({
      ...options,
      sink: sink as DiskSink & Pick<Required<DiskSink>, 'writeSync'>,
      ioBytes,
      windowBytes,
      result,
      zeros,
    });
  }
  const pool = new BufferPool({ count: concurrency, bytes: ioBytes });
  const zeroFill = sink.zeroesUnwritten ? undefined : new Uint8Array(ioBytes);
  // On a sink that reads unwritten ranges as zeros, zero blocks inside data clusters (a 4 KiB
  // write into a 64 KiB cluster leaves 60 KiB of zeros) are not written either: less I/O and
  // a sparser result, as `qemu-img convert` does.
  const skipZeroBlocks =
    sink.zeroesUnwritten && (options.skipZeroBlocks ?? true);
  const running = new Set<Promise<void>>();
  let failure: unknown;
  let done = 0;

  const launch = async (
    task: (buffer: Uint8Array) => Promise<number>,
  ): Promise<void> => {
    const buffer = await pool.acquire();
    if (failure !== undefined) {
      pool.release(buffer);
      throw failure;
    }
    const promise = task(buffer)
      .then(handled => {
        done += handled;
        options.onProgress?.({ doneBytes: done, totalBytes: total });
      })
      .catch(error => {
        if (failure === undefined) failure = error;
      })
      .finally(() => {
        pool.release(buffer);
        running.delete(promise);
      });
    running.add(promise);
  };

  try {
    for (let window = 0; window < total; window += windowBytes) {
      const extents = await chain.resolveRange(
        window,
        Math.min(windowBytes, total - window),
      );
      let group: ChainExtent[] = [];
      let groupBytes = 0;
      const flushGroup = async () => {
        if (group.length === 0) return;
        const parts = group;
        const bytes = groupBytes;
        group = [];
        groupBytes = 0;
        await launch(async buffer => {
          const start = parts[0].offset;
          await Promise.all(
            parts.map(part => {
              if (part.kind === 'zero')
                throw new Error('zero extent in a data group');
              result.bytesPerLayer[part.layer] += part.length;
              return chain.readExtent(
                part,
                buffer.subarray(
                  part.offset - start,
                  part.offset - start + part.length,
                ),
              );
            }),
          );
          if (skipZeroBlocks) {
            result.zeroBytesSkipped += await writeNonZeroBlocks({
              sink,
              bytes: asBuffer(buffer.subarray(0, bytes)),
              offset: start,
              zeros,
            });
          } else {
            await sink.write(buffer.subarray(0, bytes), start);
          }
          result.dataBytes += bytes;
          return bytes;
        });
      };
      for (const extent of extents) {
        if (extent.kind === 'zero') {
          await flushGroup();
          if (zeroFill) {
            for (let at = 0; at < extent.length; at += ioBytes) {
              const length = Math.min(ioBytes, extent.length - at);
              const offset = extent.offset + at;
              await launch(async () => {
                await sink.write(zeroFill.subarray(0, length), offset);
                result.zeroBytesWritten += length;
                return length;
              });
            }
          } else {
            result.zeroBytesSkipped += extent.length;
            done += extent.length;
          }
          continue;
        }
        // Data: split into pieces that fit a buffer, gathered with guest-adjacent pieces.
        for (let at = 0; at < extent.length; ) {
          if (groupBytes === ioBytes) await flushGroup();
          const length = Math.min(ioBytes - groupBytes, extent.length - at);
          group.push(extentPiece(extent, at, length));
          groupBytes += length;
          at += length;
        }
      }
      await flushGroup();
    }
  } finally {
    await Promise.all(running);
  }
  if (failure !== undefined) throw failure;
  return result;
}

/**
 * {@link hydrate} with blocking I/O: each run of guest-adjacent data (at most `ioBytes`) is
 * read into one buffer and its non-zero blocks written before the next, on the calling thread.
 */
async function hydrateBlocking(
  options: HydrateOptions & {
    sink: DiskSink & Pick<Required<DiskSink>, 'writeSync'>;
    ioBytes: number;
    windowBytes: number;
    result: HydrateResult;
    zeros: ZeroDetector;
  },
): Promise<HydrateResult> {
  const { chain, sink, ioBytes, windowBytes, result, zeros } = options;
  const total = chain.virtualSize;
  const skipZeroBlocks =
    sink.zeroesUnwritten && (options.skipZeroBlocks ?? true);
  const buffer = Buffer.allocUnsafe(ioBytes);
  const zeroFill = sink.zeroesUnwritten ? undefined : Buffer.alloc(ioBytes);
  let done = 0;
  const progress = (bytes: number) => {
    done += bytes;
    options.onProgress?.({ doneBytes: done, totalBytes: total });
  };
  for (let window = 0; window < total; window += windowBytes) {
    const extents = await chain.resolveRange(
      window,
      Math.min(windowBytes, total - window),
    );
    // Guest-adjacent data extents are gathered into one buffer of at most ioBytes.
    let groupStart = -1;
    let groupBytes = 0;
    const flush = () => {
      if (groupBytes === 0) return;
      const bytes = buffer.subarray(0, groupBytes);
      if (skipZeroBlocks) {
        result.zeroBytesSkipped += writeNonZeroBlocksSync({
          sink,
          bytes,
          offset: groupStart,
          zeros,
        });
      } else {
        sink.writeSync(bytes, groupStart);
      }
      result.dataBytes += groupBytes;
      progress(groupBytes);
      groupBytes = 0;
    };
    for (const extent of extents) {
      if (extent.kind === 'zero') {
        flush();
        if (zeroFill) {
          for (let at = 0; at < extent.length; at += ioBytes) {
            const length = Math.min(ioBytes, extent.length - at);
            sink.writeSync(zeroFill.subarray(0, length), extent.offset + at);
            result.zeroBytesWritten += length;
            progress(length);
          }
        } else {
          result.zeroBytesSkipped += extent.length;
          progress(extent.length);
        }
        continue;
      }
      for (let at = 0; at < extent.length; ) {
        if (groupBytes === ioBytes) flush();
        if (groupBytes === 0) groupStart = extent.offset + at;
        const length = Math.min(ioBytes - groupBytes, extent.length - at);
        await chain.readExtent(
          extentPiece(extent, at, length),
          buffer.subarray(groupBytes, groupBytes + length),
          true,
        );
        result.bytesPerLayer[extent.layer] += length;
        groupBytes += length;
        at += length;
      }
    }
    flush();
  }
  return result;
}

/** {@link writeNonZeroBlocks} with the sink's `writeSync`; returns the zero bytes skipped. */
function writeNonZeroBlocksSync(options: {
  sink: Pick<Required<DiskSink>, 'writeSync'>;
  bytes: Buffer;
  offset: number;
  zeros: ZeroDetector;
}): number {
  const { sink, bytes, offset } = options;
  return forEachNonZeroRun(bytes, options.zeros, (start, end) =>
    sink.writeSync(bytes.subarray(start, end), offset + start),
  );
}
