import type { PositionalSink, RangeSource } from '../io';
import { invalidArgument } from '../format/errors';
import type { Qcow2Chain } from '../reader/Qcow2Chain';
import { DEFAULT_CHUNK_BYTES } from './convertRawToQcow2';
import { createQcow2Writer, Qcow2WriteResult } from './Qcow2Writer';
import { SequentialReader } from './SequentialReader';
import { ZeroDetector, rangesEqual } from './ZeroDetector';

export interface OverlayFromRawOptions {
  /** The raw volume now. */
  source: RangeSource;
  /** The previous backup's chain: the overlay's backing file. */
  previous: Qcow2Chain;
  /** Backing file name and format written into the overlay header. */
  backing: { name: string; format: string };
  sink: PositionalSink;
  /** Bytes of the volume; the source's size by default (it may differ from the previous one). */
  virtualSize?: number;
  clusterSize?: number;
  chunkBytes?: number;
  onProgress?: (progress: { doneBytes: number; totalBytes: number }) => void;
}

export interface OverlayWriteResult extends Qcow2WriteResult {
  /** Guest clusters identical to the previous backup (left unallocated). */
  unchangedClusters: number;
}

/**
 * Incremental backup against a previous image: reads the volume and the previous chain side by
 * side, in one sequential pass, and writes an overlay holding only the clusters that changed
 * (clusters that became zero get the zero flag). The delta engine of packages/datamover does
 * the same from a digest index instead of the previous image's bytes.
 */
export async function writeOverlayFromRaw(options: OverlayFromRawOptions): Promise<OverlayWriteResult> {
  const { previous } = options;
  const virtualSize = options.virtualSize ?? (await options.source.size());
  const writer = await createQcow2Writer({
    sink: options.sink,
    virtualSize,
    clusterSize: options.clusterSize,
    backing: options.backing,
  });
  const { clusterSize } = writer.geometry;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (chunkBytes % clusterSize !== 0 || chunkBytes <= 0) {
    await writer.abort();
    throw invalidArgument(`chunk bytes ${chunkBytes} must be a positive multiple of the cluster size ${clusterSize}`);
  }
  let unchangedClusters = 0;
  try {
    const current = SequentialReader.forSource({ source: options.source, size: virtualSize, chunkBytes });
    const before = new SequentialReader({
      size: virtualSize,
      chunkBytes,
      read: async (target, offset) => {
        const inside = Math.max(0, Math.min(target.length, previous.virtualSize - offset));
        if (inside > 0) await previous.readInto(target.subarray(0, inside), offset);
        target.fill(0, inside);
      },
    });
    const zeros = new ZeroDetector(clusterSize);
    for (;;) {
      const [now, then] = await Promise.all([current.nextChunk(), before.nextChunk()]);
      if (!now || !then) break;
      const bytes = Buffer.from(now.bytes.buffer, now.bytes.byteOffset, now.bytes.length);
      const firstCluster = now.offset / clusterSize;
      let runStart = -1;
      const flushRun = async (at: number) => {
        if (runStart < 0) return;
        await writer.writeClusters(firstCluster + runStart / clusterSize, bytes.subarray(runStart, at));
        runStart = -1;
      };
      for (let at = 0; at < bytes.length; at += clusterSize) {
        const end = Math.min(at + clusterSize, bytes.length);
        if (rangesEqual(bytes, then.bytes, at, end)) {
          await flushRun(at);
          unchangedClusters++;
        } else if (zeros.isZero(bytes, at, end)) {
          await flushRun(at);
          await writer.markZero(firstCluster + at / clusterSize);
        } else if (runStart < 0) {
          runStart = at;
        }
      }
      await flushRun(bytes.length);
      options.onProgress?.({ doneBytes: now.offset + bytes.length, totalBytes: virtualSize });
    }
    return { ...(await writer.finish()), unchangedClusters };
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
}
