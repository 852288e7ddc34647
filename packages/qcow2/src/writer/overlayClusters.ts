import type { Qcow2Chain } from '../reader/Qcow2Chain';
import type { Segment } from '../plan/segments';
import type { Qcow2Writer } from './Qcow2Writer';
import { ZeroDetector, rangesEqual } from './ZeroDetector';

/*
 * How an overlay decides and stores clusters, shared by every pass of writeOverlayFromRaw:
 * the previous chain's bytes of a segment, holes that became zero, changed clusters stored.
 */

/** Reads the previous chain's bytes for a segment; false (nothing read) when it holds only zeros there. */
export async function readPrevious(
  previous: Qcow2Chain,
  segment: Segment,
  target: Uint8Array,
  blocking = false,
): Promise<boolean> {
  const inside = Math.max(
    0,
    Math.min(segment.length, previous.virtualSize - segment.offset),
  );
  if (inside === 0) return false;
  const extents = await previous.resolveRange(segment.offset, inside);
  if (extents.every(extent => extent.kind === 'zero')) return false;
  if (blocking) {
    await previous.readResolvedBlocking(
      target.subarray(0, inside),
      segment.offset,
      extents,
    );
  } else {
    await previous.readResolved(
      target.subarray(0, inside),
      segment.offset,
      extents,
    );
  }
  target.fill(0, inside);
  return true;
}

/** A hole of the volume: clusters where the previous chain has data became zero. */
export async function zeroWherePreviousHadData(options: {
  writer: Qcow2Writer;
  previous: Qcow2Chain;
  segment: Segment;
  state: { unchanged: number };
}) {
  const { writer, previous, segment } = options;
  const { clusterSize } = writer.geometry;
  const first = segment.offset / clusterSize;
  const count = Math.ceil(segment.length / clusterSize);
  const inside = Math.max(
    0,
    Math.min(segment.length, previous.virtualSize - segment.offset),
  );
  let zeroed = 0;
  if (inside > 0) {
    let nextCluster = first;
    for (const extent of await previous.resolveRange(segment.offset, inside)) {
      if (extent.kind === 'zero') continue; // data, stored or compressed
      const from = Math.max(
        nextCluster,
        Math.floor(extent.offset / clusterSize),
      );
      const to = Math.ceil((extent.offset + extent.length) / clusterSize);
      for (let index = from; index < to; index++) await writer.markZero(index);
      zeroed += Math.max(0, to - from);
      nextCluster = Math.max(nextCluster, to);
    }
  }
  options.state.unchanged += count - zeroed;
}

/** Compares a read segment with the previous bytes (absent: all zeros) and stores what changed. */
export async function writeChangedClusters(options: {
  writer: Qcow2Writer;
  zeros: ZeroDetector;
  bytes: Buffer;
  before?: Uint8Array;
  offset: number;
  state: { unchanged: number };
}): Promise<void> {
  const { writer, zeros, bytes, before } = options;
  const { clusterSize } = writer.geometry;
  const firstCluster = options.offset / clusterSize;
  let runStart = -1;
  // Called only with a run pending (an await per cluster costs more than the loop).
  const flushRun = async (at: number) => {
    await writer.writeClusters(
      firstCluster + runStart / clusterSize,
      bytes.subarray(runStart, at),
    );
    runStart = -1;
  };
  const isZero = (at: number, end: number) => zeros.isZero(bytes, at, end);
  for (let at = 0; at < bytes.length; at += clusterSize) {
    const end = Math.min(at + clusterSize, bytes.length);
    // Without previous bytes the previous cluster is zero: "same" and "zero" are one test.
    const same = before ? rangesEqual(bytes, before, at, end) : isZero(at, end);
    if (same) {
      if (runStart >= 0) await flushRun(at);
      options.state.unchanged++;
    } else if (before && isZero(at, end)) {
      if (runStart >= 0) await flushRun(at);
      await writer.markZero(firstCluster + at / clusterSize);
    } else if (runStart < 0) {
      runStart = at;
    }
  }
  if (runStart >= 0) await flushRun(bytes.length);
}
