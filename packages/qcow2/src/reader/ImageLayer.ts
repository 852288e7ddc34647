import type { RangeSource } from '../io';

/** A guest byte range of one layer and what backs it there. */
export type LayerExtent =
  | { kind: 'data'; offset: number; length: number; hostOffset: number }
  | { kind: 'zero'; offset: number; length: number }
  | { kind: 'unallocated'; offset: number; length: number };

/** One image of a chain: a QCOW2 image, or a raw file used as a backing file. */
export interface ImageLayer {
  readonly name: string;
  readonly format: 'qcow2' | 'raw';
  readonly virtualSize: number;
  /** Bytes of the image file itself. */
  readonly fileSize: number;
  readonly source: RangeSource;
  /** Cluster size for a QCOW2 layer; 512 for raw. */
  readonly granularity: number;
  readonly backing?: { name: string; format?: string };
  /**
   * Appends to `out` the extents covering `[offset, offset + length)`, which must lie inside
   * the virtual disk. Adjacent extents of the same kind (and contiguous host offsets) are merged.
   */
  mapRange(offset: number, length: number, out: LayerExtent[]): Promise<void>;
}

/** Appends an extent to `out`, merging it into the last one when they continue each other. */
export function pushExtent(out: LayerExtent[], extent: LayerExtent): void {
  const last = out[out.length - 1];
  if (
    last &&
    last.kind === extent.kind &&
    last.offset + last.length === extent.offset
  ) {
    if (
      last.kind !== 'data' ||
      (extent.kind === 'data' &&
        last.hostOffset + last.length === extent.hostOffset)
    ) {
      last.length += extent.length;
      return;
    }
  }
  out.push(extent);
}
