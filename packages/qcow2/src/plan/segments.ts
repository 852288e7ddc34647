import { invalidArgument } from '../format/errors';

/** A byte range `[offset, offset + length)`. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * A step of a sequential pass over a volume: `read` ranges may hold data and are read (at most
 * `chunkBytes` each); `hole` ranges are known to read as zeros and are not read at all.
 * Every boundary is cluster aligned (or the end of the volume).
 */
export type Segment =
  | { kind: 'read'; offset: number; length: number }
  | { kind: 'hole'; offset: number; length: number };

/**
 * Cuts `[0, size)` into segments. Without `allocated`, everything is read. With it (sorted or
 * not, possibly overlapping: e.g. from FIEMAP or CSI GetMetadataAllocated), every cluster that
 * touches an allocated range is read and the others are holes.
 */
export function* planSegments(options: {
  size: number;
  clusterSize: number;
  chunkBytes: number;
  allocated?: readonly ByteRange[];
}): Generator<Segment> {
  const { size, clusterSize, chunkBytes } = options;
  checkChunkBytes(chunkBytes, clusterSize);
  const reads = options.allocated
    ? alignedRanges(options.allocated, clusterSize, size)
    : [{ offset: 0, length: size }];
  let position = 0;
  for (const range of reads) {
    if (range.offset > position)
      yield { kind: 'hole', offset: position, length: range.offset - position };
    for (
      let at = range.offset;
      at < range.offset + range.length;
      at += chunkBytes
    ) {
      yield {
        kind: 'read',
        offset: at,
        length: Math.min(chunkBytes, range.offset + range.length - at),
      };
    }
    position = range.offset + range.length;
  }
  if (position < size)
    yield { kind: 'hole', offset: position, length: size - position };
}

/**
 * The plans of one volume by chunk size, for a pass that plans the same volume several ways
 * (windows for scanning threads, chunks for one thread). Checks the default `chunkBytes` at
 * once, where `planSegments` would only throw when first iterated.
 */
export function segmentPlanner(options: {
  size: number;
  clusterSize: number;
  chunkBytes: number;
  allocated?: readonly ByteRange[];
}): (chunkBytes: number) => Generator<Segment> {
  checkChunkBytes(options.chunkBytes, options.clusterSize);
  return chunkBytes => planSegments({ ...options, chunkBytes });
}

function checkChunkBytes(chunkBytes: number, clusterSize: number): void {
  if (chunkBytes <= 0 || chunkBytes % clusterSize !== 0) {
    throw invalidArgument(
      `chunk bytes ${chunkBytes} must be a positive multiple of the cluster size ${clusterSize}`,
    );
  }
}

/** Widens ranges to whole clusters, clips them to the volume, sorts and merges them. */
function alignedRanges(
  ranges: readonly ByteRange[],
  clusterSize: number,
  size: number,
): ByteRange[] {
  const aligned = ranges
    .filter(r => r.length > 0 && r.offset < size)
    .map(r => {
      const start = Math.floor(r.offset / clusterSize) * clusterSize;
      const end = Math.min(
        size,
        Math.ceil((r.offset + r.length) / clusterSize) * clusterSize,
      );
      return { offset: start, length: end - start };
    })
    .sort((a, b) => a.offset - b.offset);
  const merged: ByteRange[] = [];
  for (const range of aligned) {
    const last = merged[merged.length - 1];
    if (last && range.offset <= last.offset + last.length) {
      last.length = Math.max(
        last.length,
        range.offset + range.length - last.offset,
      );
    } else {
      merged.push({ ...range });
    }
  }
  return merged;
}
