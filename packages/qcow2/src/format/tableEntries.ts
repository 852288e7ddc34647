import { readU32, writeU64Parts } from '../codec/bigEndian';
import {
  CompressedDescriptorLayout,
  compressedLayout,
  decodeCompressedEntry,
} from './compressedEntry';
import { EntryBits } from './constants';
import { corrupt, unsupported } from './errors';

/**
 * L1/L2 entry codecs. Decoding returns a host offset (>= 0) or one of the negative markers, so
 * the per-cluster hot paths allocate nothing.
 */
export const UNALLOCATED = -1;
export const ZERO = -2;
/** A compressed cluster: {@link EntryDecoder.compressed} gives where its bytes are. */
export const COMPRESSED = -3;

const TWO_POW_32 = 0x1_0000_0000;
/** Bits 56..62 of an L1 entry are reserved (62 is "compressed" only in L2 entries). */
const L1_RESERVED_HIGH = 0x7f00_0000;
const L1_RESERVED_LOW = 0x0000_01ff;

/** Decodes the entries of one image; knows its version, cluster size and file size. */
export class EntryDecoder {
  private readonly layout: CompressedDescriptorLayout;

  constructor(
    private readonly options: {
      version: number;
      clusterSize: number;
      fileSize: number;
      imageName: string;
      /**
       * The image is encrypted: compressed clusters are refused (qemu never writes them there;
       * their bytes would not be encrypted).
       */
      encrypted?: boolean;
    },
  ) {
    this.layout = compressedLayout(Math.log2(options.clusterSize));
  }

  /** Host offset of the L2 table at `index` of the L1 table, or {@link UNALLOCATED}. */
  l1(table: Uint8Array, index: number): number {
    const high = readU32(table, index * 8);
    const low = readU32(table, index * 8 + 4);
    if ((high & L1_RESERVED_HIGH) !== 0 || (low & L1_RESERVED_LOW) !== 0) {
      throw corrupt(
        `l1 entry ${index} of ${this.options.imageName} has reserved bits set`,
      );
    }
    const offset =
      (high & EntryBits.offsetHigh) * TWO_POW_32 + (low & EntryBits.offsetLow);
    if (offset === 0) return UNALLOCATED;
    this.checkCluster(offset, `l1 entry ${index}`);
    return offset;
  }

  /** Host offset of the guest cluster at `index` of an L2 table, or a marker. */
  l2(table: Uint8Array, index: number, guestOffset: number): number {
    const high = readU32(table, index * 8);
    const low = readU32(table, index * 8 + 4);
    if (high === 0 && low === 0) return UNALLOCATED;
    if ((high & EntryBits.compressedHigh) !== 0) {
      if (this.options.encrypted) {
        throw unsupported(
          `compressed cluster at guest offset ${guestOffset} of encrypted image ${this.options.imageName}: compressed clusters are not encrypted, qemu never writes them into an encrypted image`,
        );
      }
      return COMPRESSED;
    }
    if (
      (high & EntryBits.reservedHigh) !== 0 ||
      (low & EntryBits.reservedLow) !== 0
    ) {
      throw corrupt(
        `l2 entry for guest offset ${guestOffset} of ${this.options.imageName} has reserved bits set`,
      );
    }
    if ((low & EntryBits.zeroLow) !== 0) {
      if (this.options.version < 3) {
        throw corrupt(
          `l2 entry for guest offset ${guestOffset} of ${this.options.imageName} has the zero flag in a version 2 image`,
        );
      }
      return ZERO; // also preallocated zero clusters: they read as zeros
    }
    const offset =
      (high & EntryBits.offsetHigh) * TWO_POW_32 + (low & EntryBits.offsetLow);
    if (offset === 0) return UNALLOCATED;
    this.checkCluster(offset, `l2 entry for guest offset ${guestOffset}`);
    return offset;
  }

  /**
   * Where the bytes of the compressed cluster at `index` of an L2 table are (the entry must be
   * one, see {@link COMPRESSED}); `bytes` is clipped to the end of the file, as QEMU does not
   * always extend the file over the last sector.
   */
  compressed(
    table: Uint8Array,
    index: number,
    guestOffset: number,
  ): { hostOffset: number; bytes: number } {
    const { fileSize, imageName } = this.options;
    const entry = decodeCompressedEntry(
      this.layout,
      readU32(table, index * 8),
      readU32(table, index * 8 + 4),
    );
    if (entry.hostOffset < this.options.clusterSize || entry.hostOffset >= fileSize) {
      throw corrupt(
        `compressed l2 entry for guest offset ${guestOffset} of ${imageName} points at host offset ${entry.hostOffset}, outside the file (${fileSize} bytes)`,
      );
    }
    return {
      hostOffset: entry.hostOffset,
      bytes: Math.min(entry.bytes, fileSize - entry.hostOffset),
    };
  }

  private checkCluster(offset: number, what: string): void {
    const { clusterSize, fileSize, imageName } = this.options;
    if (offset % clusterSize !== 0) {
      throw corrupt(
        `${what} of ${imageName} points at unaligned host offset ${offset}`,
      );
    }
    if (offset >= fileSize) {
      throw corrupt(
        `${what} of ${imageName} points at host offset ${offset}, past the end of the file (${fileSize} bytes)`,
      );
    }
  }
}

/**
 * The index of the first entry in `[from, to)` of an L2 table that is not all zero bits (an
 * all-zero entry is an unallocated cluster), or `to`. Sparse images are mostly such runs:
 * they are skipped 32 bits at a time rather than decoded one by one.
 */
export function zeroEntriesEnd(
  table: Uint8Array,
  from: number,
  to: number,
): number {
  let i = from;
  if (table.byteOffset % 4 === 0) {
    const words = new Uint32Array(
      table.buffer,
      table.byteOffset,
      table.length >>> 2,
    );
    while (i < to && (words[2 * i] | words[2 * i + 1]) === 0) i++;
    return i;
  }
  while (
    i < to &&
    readU32(table, i * 8) === 0 &&
    readU32(table, i * 8 + 4) === 0
  )
    i++;
  return i;
}

/** Encodes an allocated cluster with refcount one (COPIED) at `index` of an L1 or L2 table. */
export function encodeAllocatedEntry(
  table: Uint8Array,
  index: number,
  hostOffset: number,
): void {
  const high = Math.floor(hostOffset / TWO_POW_32);
  writeU64Parts(
    table,
    index * 8,
    (EntryBits.copiedHigh | high) >>> 0,
    hostOffset >>> 0,
  );
}

/** Encodes a cluster that reads as zeros and has no host storage. */
export function encodeZeroEntry(table: Uint8Array, index: number): void {
  writeU64Parts(table, index * 8, 0, EntryBits.zeroLow);
}
