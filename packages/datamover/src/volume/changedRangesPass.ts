import type { Qcow2Writer } from '@ferry/qcow2';
import { DatamoverError } from '../errors';
import { alignedBuffer } from '../io/alignedBuffer';
import type { Device } from '../io/Device';
import type { ProgressReporter } from '../io/Progress';
import { toClusterRuns, type ByteRange } from './changedRanges';
import { DeltaEngine } from './DeltaEngine';
import type { IndexOutput } from './IndexOutput';
import type { ScanStats } from './scanPass';

/**
 * The CBT pass (`--changed-ranges`): reads only the clusters inside the changed runs, chunk by
 * chunk beside the parent's index; every other cluster keeps the parent's digest.
 */
export async function changedRangesPass(o: {
  ranges: ByteRange[];
  device: Device;
  writer: Qcow2Writer;
  clusterSize: number;
  virtualSize: number;
  chunkBytes: number;
  parentDigests: (count: number) => Promise<Uint8Array>;
  index: IndexOutput;
  stats: ScanStats;
  progress: ProgressReporter;
  signal?: AbortSignal;
  onFirstRead?: () => void;
}): Promise<void> {
  const { device, clusterSize, virtualSize, stats } = o;
  const clusterCount = Math.ceil(virtualSize / clusterSize);
  const engine = new DeltaEngine({ writer: o.writer, clusterSize, virtualSize, stats, index: o.index });
  const runs = toClusterRuns(o.ranges, clusterSize, clusterCount);
  const perChunk = o.chunkBytes / clusterSize;
  const data = Buffer.allocUnsafe(o.chunkBytes);
  const scratch = alignedBuffer(o.chunkBytes);
  let runAt = 0;
  for (let first = 0; first < clusterCount; first += perChunk) {
    if (o.signal?.aborted) {
      throw new DatamoverError('INTERRUPTED', `backup of ${device.path} was interrupted; nothing was committed`);
    }
    const count = Math.min(perChunk, clusterCount - first);
    const parentDigests = await o.parentDigests(count);
    while (runAt < runs.length && runs[runAt][1] <= first) runAt++;
    const touched: Array<[number, number]> = [];
    for (let r = runAt; r < runs.length && runs[r][0] < first + count; r++) {
      touched.push([Math.max(runs[r][0], first), Math.min(runs[r][1], first + count)]);
    }
    for (const [a, b] of touched) {
      o.onFirstRead?.();
      o.onFirstRead = undefined;
      const length = Math.min((b - a) * clusterSize, virtualSize - a * clusterSize);
      const got = await device.read(scratch, a * clusterSize, length);
      data.set(got, (a - first) * clusterSize);
      stats.bytesRead += got.length;
    }
    await engine.chunk({ first, count, data, parentDigests, touched });
    o.progress.bytesRead = stats.bytesRead;
    o.progress.bytesWritten = engine.bytesWritten;
    o.progress.report('read');
  }
}
