import type { RangeSource } from '../io';
import type { CompressionType } from '../format/header';
import type { LuksKey } from '../luks/LuksKey';
import type { SectorCipher } from '../luks/SectorCipher';

/**
 * Part of one compressed cluster: its bytes start at `hostOffset` and run `compressedBytes`
 * (to the end of their last sector, clipped to the file); the cluster starts at guest offset
 * `clusterOffset`, and this part covers `[offset, offset + length)` of it.
 */
export interface CompressedPart {
  kind: 'compressed';
  offset: number;
  length: number;
  hostOffset: number;
  compressedBytes: number;
  clusterOffset: number;
}

/** A guest byte range of one layer and what backs it there. */
export type LayerExtent =
  | { kind: 'data'; offset: number; length: number; hostOffset: number }
  | CompressedPart
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
  /** Decrypts the layer's data clusters (LUKS, unlocked); absent when it is not encrypted. */
  readonly cipher?: SectorCipher;
  /** The unlocked LUKS key of an encrypted layer (an overlay may be written with it). */
  readonly luksKey?: LuksKey;
  /** The codec of the layer's compressed clusters (QCOW2 only). */
  readonly compressionType?: CompressionType;
  /**
   * Appends to `out` the extents covering `[offset, offset + length)`, which must lie inside
   * the virtual disk. Adjacent extents of the same kind (and contiguous host offsets) are merged.
   */
  mapRange(offset: number, length: number, out: LayerExtent[]): Promise<void>;
  /** Reads a compressed part this layer's `mapRange` returned (QCOW2 only). */
  readCompressed?(
    part: CompressedPart,
    target: Uint8Array,
    blocking?: boolean,
  ): Promise<void>;
}

/**
 * True when `next` continues `previous` (same kind, adjacent; for data also adjacent on the
 * host). Parts of compressed clusters never merge.
 */
export function continuesExtent(
  previous: LayerExtent,
  next: LayerExtent,
): boolean {
  if (
    previous.kind !== next.kind ||
    previous.offset + previous.length !== next.offset
  )
    return false;
  if (previous.kind === 'compressed') return false;
  return (
    previous.kind !== 'data' ||
    (next.kind === 'data' &&
      previous.hostOffset + previous.length === next.hostOffset)
  );
}

/** Appends an extent to `out`, merging it into the last one when they continue each other. */
export function pushExtent(out: LayerExtent[], extent: LayerExtent): void {
  const last = out[out.length - 1];
  if (last && continuesExtent(last, extent)) {
    last.length += extent.length;
    return;
  }
  out.push(extent);
}
