import * as zlib from 'node:zlib';
import { corrupt, invalidArgument, unsupported } from '../format/errors';
import type { CompressionType } from '../format/header';
import { zstdFrameLength } from './zstdFrames';

/**
 * The codecs of QCOW2 compressed clusters, as qemu uses them (block/qcow2-threads.c):
 * - deflate (qemu's compression type 0, "zlib"): raw deflate, no zlib header, a 4 KiB window
 *   (window bits 12; qemu inflates with 12 too, so a larger window would not open in qemu),
 *   memLevel 9, level 6 (Z_DEFAULT_COMPRESSION) by default;
 * - zstd (compression type 1): one zstd frame per cluster, level 3 (zstd's default, which
 *   qemu uses) by default.
 * Compression runs in Node's thread pool on long-lived streams (`CompressionLanes`),
 * decompression in the thread pool or on the calling thread.
 */
export interface CompressionOptions {
  type: CompressionType;
  /** deflate 1..9 (6 by default), zstd 1..19 (3 by default). */
  level?: number;
}

const LEVELS: Record<CompressionType, { min: number; max: number; default: number }> = {
  deflate: { min: 1, max: 9, default: 6 },
  zstd: { min: 1, max: 19, default: 3 },
};

/** Validates the options (naming the field) and fills in the level. */
export function compressionSettings(
  options: CompressionOptions,
): Required<CompressionOptions> {
  const type = options.type;
  if (type !== 'deflate' && type !== 'zstd') {
    throw invalidArgument(
      `compression.type "${String(type)}" must be "deflate" or "zstd"`,
    );
  }
  const range = LEVELS[type];
  const level = options.level ?? range.default;
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw invalidArgument(
      `compression.level ${level} must be an integer from ${range.min} to ${range.max} for ${type}`,
    );
  }
  if (type === 'zstd' && typeof zlib.zstdCompress !== 'function') {
    throw unsupported(
      `zstd compression needs node >= 22.15 (node:zlib has no zstd in ${process.version})`,
    );
  }
  return { type, level };
}

/** One output buffer for a whole cluster's frame (Node's default is 16 KiB pieces). */
function outputChunk(clusterSize: number): number {
  return clusterSize + Math.ceil(clusterSize / 128) + 1024;
}

function deflateOptions(level: number, clusterSize: number): zlib.ZlibOptions {
  return { level, windowBits: 12, memLevel: 9, chunkSize: outputChunk(clusterSize) };
}

/**
 * A window no larger than the cluster (it holds the whole input): zstd then allocates for a
 * cluster rather than for its default 2 MiB window, which halved the cost of a 4 KiB cluster.
 */
function zstdOptions(level: number, clusterBits: number): zlib.ZstdOptions {
  return {
    chunkSize: outputChunk(2 ** clusterBits),
    params: {
      [zlib.constants.ZSTD_c_compressionLevel]: level,
      [zlib.constants.ZSTD_c_windowLog]: Math.max(10, clusterBits),
    },
  };
}

/** The node:zlib options that give qemu's codecs. */
export function compressorOptions(options: {
  type: CompressionType;
  level: number;
  clusterSize: number;
}): zlib.ZlibOptions | zlib.ZstdOptions {
  return options.type === 'deflate'
    ? deflateOptions(options.level, options.clusterSize)
    : zstdOptions(options.level, Math.log2(options.clusterSize));
}

/** What to decompress: the bytes read at a compressed cluster's host offset (to its last sector). */
export interface CompressedInput {
  type: CompressionType;
  bytes: Uint8Array;
  clusterSize: number;
  /** Names the cluster in errors, e.g. "guest offset 65536 of base.qcow2". */
  what: string;
}

/** The zstd frames holding a cluster (one, as qemu writes; more are followed while short). */
function zstdInput(input: CompressedInput): Uint8Array {
  const length = zstdFrameLength(input.bytes, 0, input.what);
  return input.bytes.subarray(0, length);
}

/** At most a cluster out, in one buffer. */
function decompressOptions(input: CompressedInput) {
  return { maxOutputLength: input.clusterSize, chunkSize: input.clusterSize };
}

/**
 * zstd: also a window of at most 4 MiB (a cluster is at most 2 MiB; zstd's own limit, 128 MiB,
 * would let a damaged frame header make every cluster allocate that much).
 */
function zstdDecompressOptions(input: CompressedInput): zlib.ZstdOptions {
  return {
    ...decompressOptions(input),
    params: { [zlib.constants.ZSTD_d_windowLogMax]: 22 },
  };
}

function checked(input: CompressedInput, output: Buffer): Buffer {
  if (output.length !== input.clusterSize) {
    throw corrupt(
      `compressed cluster at ${input.what} decompresses to ${output.length} bytes, not a ${input.clusterSize}-byte cluster`,
    );
  }
  return output;
}

function failed(input: CompressedInput, error: unknown): Error {
  if (error instanceof Error && error.name === 'Qcow2Error') return error;
  const reason = error instanceof Error ? error.message : String(error);
  return corrupt(
    `compressed cluster at ${input.what} does not decompress (${input.type}): ${reason}`,
  );
}

/**
 * Decompresses one cluster on the calling thread. The input may run past the compressed
 * stream (the rest of its last sector, or the next cluster's bytes): deflate stops at the end
 * of its stream, zstd is cut to its frame first.
 */
export function decompressClusterSync(input: CompressedInput): Buffer {
  try {
    const output =
      input.type === 'deflate'
        ? zlib.inflateRawSync(input.bytes, decompressOptions(input))
        : zlib.zstdDecompressSync(zstdInput(input), zstdDecompressOptions(input));
    return checked(input, output);
  } catch (error) {
    throw failed(input, error);
  }
}

/** {@link decompressClusterSync} in Node's thread pool. */
export function decompressCluster(input: CompressedInput): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, output: Buffer) => {
      if (error) reject(failed(input, error));
      else {
        try {
          resolve(checked(input, output));
        } catch (mismatch) {
          reject(mismatch);
        }
      }
    };
    try {
      if (input.type === 'deflate') {
        zlib.inflateRaw(input.bytes, decompressOptions(input), done);
      } else {
        zlib.zstdDecompress(zstdInput(input), zstdDecompressOptions(input), done);
      }
    } catch (error) {
      reject(failed(input, error));
    }
  });
}
