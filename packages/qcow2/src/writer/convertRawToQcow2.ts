import type { PositionalSink, RangeSource } from '../io';
import { invalidArgument } from '../format/errors';
import { createQcow2Writer, Qcow2WriteResult } from './Qcow2Writer';
import { SequentialReader } from './SequentialReader';
import { ZeroDetector } from './ZeroDetector';

export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export interface ConvertRawOptions {
  /** The raw volume (a block device or a file). */
  source: RangeSource;
  sink: PositionalSink;
  /** Bytes of the volume; the source's size by default. */
  virtualSize?: number;
  clusterSize?: number;
  /** Sequential read size; 8 MiB by default (a multiple of the cluster size). */
  chunkBytes?: number;
  onProgress?: (progress: { doneBytes: number; totalBytes: number }) => void;
}

/**
 * Full backup: reads a raw volume once, sequentially, and writes a base QCOW2 image holding
 * only its non-zero clusters. The sink is aborted if anything fails.
 */
export async function convertRawToQcow2(options: ConvertRawOptions): Promise<Qcow2WriteResult> {
  const virtualSize = options.virtualSize ?? (await options.source.size());
  const writer = await createQcow2Writer({ sink: options.sink, virtualSize, clusterSize: options.clusterSize });
  const { clusterSize } = writer.geometry;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (chunkBytes % clusterSize !== 0 || chunkBytes <= 0) {
    await writer.abort();
    throw invalidArgument(`chunk bytes ${chunkBytes} must be a positive multiple of the cluster size ${clusterSize}`);
  }
  try {
    const reader = SequentialReader.forSource({ source: options.source, size: virtualSize, chunkBytes });
    const zeros = new ZeroDetector(clusterSize);
    for (let chunk = await reader.nextChunk(); chunk; chunk = await reader.nextChunk()) {
      const { bytes, offset } = chunk;
      const firstCluster = offset / clusterSize;
      let runStart = -1;
      for (let at = 0; at < bytes.length; at += clusterSize) {
        const end = Math.min(at + clusterSize, bytes.length);
        if (zeros.isZero(bytes, at, end)) {
          if (runStart >= 0) {
            await writer.writeClusters(firstCluster + runStart / clusterSize, bytes.subarray(runStart, at));
            runStart = -1;
          }
        } else if (runStart < 0) {
          runStart = at;
        }
      }
      if (runStart >= 0) {
        await writer.writeClusters(firstCluster + runStart / clusterSize, bytes.subarray(runStart));
      }
      options.onProgress?.({ doneBytes: offset + bytes.length, totalBytes: virtualSize });
    }
    return await writer.finish();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
}
