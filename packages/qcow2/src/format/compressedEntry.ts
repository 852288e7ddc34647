import { writeU64Parts } from '../codec/bigEndian';
import { EntryBits } from './constants';

/**
 * The compressed cluster descriptor of an L2 entry (QEMU docs/interop/qcow2.txt, "Compressed
 * Clusters Descriptor"): with x = 62 - (cluster_bits - 8), bits 0..x-1 hold the host byte
 * offset of the compressed data (any byte, not aligned) and bits x..61 the number of 512-byte
 * sectors it uses beyond the sector holding that offset. Bit 62 marks the entry compressed;
 * bit 63 (COPIED) is never set, since host clusters holding compressed data may be shared.
 *
 * For every supported cluster size x is at least 49, so the sector count lies wholly in the
 * high 32 bits of the entry and the offset's high part below it: no 64-bit arithmetic needed.
 */

const TWO_POW_32 = 0x1_0000_0000;
export const COMPRESSED_SECTOR_SIZE = 512;

export interface CompressedDescriptorLayout {
  /** Bit of the whole entry where the sector count starts (x above). */
  sizeShift: number;
  /** Mask of the sector count once shifted down. */
  sizeMask: number;
  /** Mask of the offset bits held in the high 32 bits of the entry. */
  offsetHighMask: number;
}

export function compressedLayout(
  clusterBits: number,
): CompressedDescriptorLayout {
  const sizeShift = 62 - (clusterBits - 8);
  return {
    sizeShift,
    sizeMask: 2 ** (clusterBits - 8) - 1,
    offsetHighMask: 2 ** (sizeShift - 32) - 1,
  };
}

/**
 * The host offset and the bytes to read of a compressed entry given as its two 32-bit halves.
 * The bytes run to the end of the last sector counted, as QEMU reads them (the compressed
 * stream may end before; decompression stops when a cluster is produced).
 */
export function decodeCompressedEntry(
  layout: CompressedDescriptorLayout,
  high: number,
  low: number,
): { hostOffset: number; bytes: number } {
  const hostOffset =
    (high & layout.offsetHighMask) * TWO_POW_32 + (low >>> 0);
  const sectors =
    ((high >>> (layout.sizeShift - 32)) & layout.sizeMask) + 1;
  return {
    hostOffset,
    bytes:
      sectors * COMPRESSED_SECTOR_SIZE - (hostOffset % COMPRESSED_SECTOR_SIZE),
  };
}

/** Writes the descriptor of `bytes` compressed bytes stored at `hostOffset` into an L2 table. */
export function encodeCompressedEntry(options: {
  table: Uint8Array;
  index: number;
  layout: CompressedDescriptorLayout;
  hostOffset: number;
  bytes: number;
}): void {
  const { layout, hostOffset, bytes } = options;
  const extraSectors =
    Math.floor((hostOffset + bytes - 1) / COMPRESSED_SECTOR_SIZE) -
    Math.floor(hostOffset / COMPRESSED_SECTOR_SIZE);
  const offsetHigh = Math.floor(hostOffset / TWO_POW_32);
  if (
    offsetHigh > layout.offsetHighMask ||
    extraSectors > layout.sizeMask ||
    bytes < 1
  ) {
    throw new RangeError(
      `compressed cluster of ${bytes} bytes at host offset ${hostOffset} does not fit its descriptor`,
    );
  }
  const high =
    EntryBits.compressedHigh |
    (extraSectors << (layout.sizeShift - 32)) |
    offsetHigh;
  writeU64Parts(options.table, options.index * 8, high >>> 0, hostOffset >>> 0);
}

/**
 * Host clusters a compressed cluster's sectors touch, as `qemu-img check` counts references:
 * from the cluster holding `hostOffset` to the one holding the last byte of the last sector.
 */
export function compressedClusterSpan(options: {
  hostOffset: number;
  bytes: number;
  clusterSize: number;
}): { first: number; last: number } {
  const { hostOffset, bytes, clusterSize } = options;
  const sectorEnd =
    Math.ceil((hostOffset + bytes) / COMPRESSED_SECTOR_SIZE) *
    COMPRESSED_SECTOR_SIZE;
  return {
    first: Math.floor(hostOffset / clusterSize),
    last: Math.floor((sectorEnd - 1) / clusterSize),
  };
}
