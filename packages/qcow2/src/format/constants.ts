/** Numbers fixed by the QCOW2 specification (QEMU docs/interop/qcow2.txt). */

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** Offsets of the header fields (version 2 ends at 72, version 3 adds the rest). */
export const HeaderField = {
  magic: 0,
  version: 4,
  backingFileOffset: 8,
  backingFileSize: 16,
  clusterBits: 20,
  size: 24,
  cryptMethod: 32,
  l1Size: 36,
  l1TableOffset: 40,
  refcountTableOffset: 48,
  refcountTableClusters: 56,
  nbSnapshots: 60,
  snapshotsOffset: 64,
  incompatibleFeatures: 72,
  compatibleFeatures: 80,
  autoclearFeatures: 88,
  refcountOrder: 96,
  headerLength: 100,
  compressionType: 104,
} as const;

/** Values of the header's crypt_method field. */
export const CryptMethod = {
  none: 0,
  /** Legacy AES-CBC (qemu only reads it in its tools): not supported here. */
  aes: 1,
  luks: 2,
} as const;

/** Values of the v3 header's compression_type byte (offset 104). */
export const CompressionTypeCode = {
  /** qemu's "zlib": raw deflate with a 4 KiB window, no zlib header. */
  deflate: 0,
  zstd: 1,
} as const;

/** Bytes of the full disk encryption header extension's data (offset and length, u64 each). */
export const FDE_EXTENSION_BYTES = 16;

export const V2_HEADER_LENGTH = 72;
export const V3_MIN_HEADER_LENGTH = 104;
/** What this writer emits: v3 header with the compression-type byte, padded to 8 bytes. */
export const V3_HEADER_LENGTH = 112;

/** Incompatible feature bits (low 32 bits of the field; the high half must be zero). */
export const Incompatible = {
  dirty: 1 << 0,
  corrupt: 1 << 1,
  externalDataFile: 1 << 2,
  compressionType: 1 << 3,
  extendedL2: 1 << 4,
} as const;

export const KNOWN_INCOMPATIBLE_BITS = 0x1f;

/** Header extension types. */
export const Extension = {
  end: 0x00000000,
  backingFormat: 0xe2792aca,
  featureNameTable: 0x6803f857,
  bitmaps: 0x23852875,
  fullDiskEncryption: 0x0537be77,
  externalDataFile: 0x44415441,
} as const;

export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** The writer accepts 4 KiB .. 2 MiB clusters. */
export const MIN_WRITER_CLUSTER_BITS = 12;

export const MAX_BACKING_FILE_NAME_BYTES = 1023;
export const MAX_BACKING_FORMAT_BYTES = 16;
/** Same bound as QEMU (QCOW_MAX_L1_SIZE): the L1 table may not exceed 32 MiB. */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
/** Bound on header extensions walked, so a hostile header cannot loop. */
export const MAX_HEADER_EXTENSIONS = 64;

/** Bits of an L1/L2 entry, given on the high (bits 32..63) and low (bits 0..31) halves. */
export const EntryBits = {
  /** Bit 63, refcount is exactly one. */
  copiedHigh: 0x8000_0000,
  /** Bit 62, compressed cluster (L2 only). */
  compressedHigh: 0x4000_0000,
  /** Bits 56..61: reserved in a standard L2 entry. */
  reservedHigh: 0x3f00_0000,
  /** Bits 32..55 of the host offset. */
  offsetHigh: 0x00ff_ffff,
  /** Bits 9..31 of the host offset. */
  offsetLow: 0xffff_fe00,
  /** Bits 1..8: reserved in a standard L2 entry. */
  reservedLow: 0x0000_01fe,
  /** Bit 0 of an L2 entry: the cluster reads as zeros. */
  zeroLow: 0x0000_0001,
} as const;
