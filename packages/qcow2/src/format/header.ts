import { readU32, readU64 } from '../codec/bigEndian';
import { ClusterGeometry } from './ClusterGeometry';
import {
  CompressionTypeCode,
  CryptMethod,
  Extension,
  FDE_EXTENSION_BYTES,
  HeaderField,
  Incompatible,
  KNOWN_INCOMPATIBLE_BITS,
  MAX_BACKING_FILE_NAME_BYTES,
  MAX_BACKING_FORMAT_BYTES,
  MAX_CLUSTER_BITS,
  MAX_HEADER_EXTENSIONS,
  MAX_L1_BYTES,
  MIN_CLUSTER_BITS,
  QCOW2_MAGIC,
  V2_HEADER_LENGTH,
  V3_MIN_HEADER_LENGTH,
} from './constants';
import { corrupt, unsupported } from './errors';

/** The parts of a QCOW2 header this package uses, validated. */
export interface Qcow2Header {
  version: 2 | 3;
  geometry: ClusterGeometry;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  refcountOrder: number;
  nbSnapshots: number;
  headerLength: number;
  /** Incompatible feature bits that are set and tolerated when reading (dirty, compression type). */
  incompatibleFeatures: number;
  backing?: { name: string; format?: string };
  /** How compressed clusters are stored: qemu's "zlib" (raw deflate) or zstd. */
  compressionType: CompressionType;
  /** LUKS encryption: where the LUKS header (and key material) is stored in the image. */
  encryption?: EncryptionHeaderPointer;
}

/** The codecs of the header's compression_type: 0 (qemu's "zlib", raw deflate) and 1 (zstd). */
export type CompressionType = 'deflate' | 'zstd';

/** The full disk encryption header extension of a LUKS-encrypted image. */
export interface EncryptionHeaderPointer {
  format: 'luks';
  /** Byte offset of the LUKS header in the image file (cluster aligned). */
  headerOffset: number;
  /** Bytes of the LUKS header and key material (the clusters holding it are rounded up). */
  headerLength: number;
}

/** Upper bound on the LUKS header area (qemu's is about 2 MiB: 8 key slots of 4000 stripes). */
const MAX_ENCRYPTION_HEADER_BYTES = 64 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(bytes: Uint8Array, field: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw corrupt(`${field} is not valid utf-8`);
  }
}

function requireRange(
  value: number,
  min: number,
  max: number,
  field: string,
): number {
  if (!(value >= min && value <= max)) {
    throw corrupt(`header field ${field} is ${value}, outside ${min}..${max}`);
  }
  return value;
}

/**
 * Decodes and validates the header from the first bytes of an image (`bytes` holds at least
 * `min(fileSize, clusterSize)` bytes, see {@link headerBytesNeeded}).
 */
export function decodeHeader(options: {
  bytes: Uint8Array;
  fileSize: number;
}): Qcow2Header {
  const { bytes, fileSize } = options;
  if (fileSize < V2_HEADER_LENGTH || bytes.length < V2_HEADER_LENGTH) {
    throw corrupt(`image is ${fileSize} bytes, too short for a qcow2 header`);
  }
  if (readU32(bytes, HeaderField.magic) !== QCOW2_MAGIC) {
    throw corrupt('image does not start with the qcow2 magic "QFI\\xfb"');
  }
  const version = readU32(bytes, HeaderField.version);
  if (version !== 2 && version !== 3) {
    throw unsupported(
      `qcow2 version ${version} is not supported (2 and 3 are)`,
    );
  }
  const clusterBits = requireRange(
    readU32(bytes, HeaderField.clusterBits),
    MIN_CLUSTER_BITS,
    MAX_CLUSTER_BITS,
    'cluster_bits',
  );
  const clusterSize = 2 ** clusterBits;
  const cryptMethod = readU32(bytes, HeaderField.cryptMethod);
  if (cryptMethod === CryptMethod.aes) {
    throw unsupported(
      'encrypted qcow2 images with legacy aes (crypt_method 1) are not supported, only luks',
    );
  }
  if (cryptMethod !== CryptMethod.none && cryptMethod !== CryptMethod.luks) {
    throw unsupported(
      `encrypted qcow2 images with crypt_method ${cryptMethod} are not supported, only luks (2)`,
    );
  }
  let headerLength = V2_HEADER_LENGTH;
  let refcountOrder = 4;
  let incompatibleFeatures = 0;
  if (version === 3) {
    if (bytes.length < V3_MIN_HEADER_LENGTH) {
      throw corrupt(
        `image is ${fileSize} bytes, too short for a version 3 header`,
      );
    }
    headerLength = requireRange(
      readU32(bytes, HeaderField.headerLength),
      V3_MIN_HEADER_LENGTH,
      Math.min(clusterSize, bytes.length),
      'header_length',
    );
    const incompatibleHigh = readU32(bytes, HeaderField.incompatibleFeatures);
    incompatibleFeatures = readU32(bytes, HeaderField.incompatibleFeatures + 4);
    const unknown = incompatibleFeatures & ~KNOWN_INCOMPATIBLE_BITS;
    if (incompatibleHigh !== 0 || unknown !== 0) {
      throw unsupported(
        `unknown incompatible feature bits 0x${incompatibleHigh.toString(16)}${(
          unknown >>> 0
        )
          .toString(16)
          .padStart(8, '0')} are set`,
      );
    }
    if (incompatibleFeatures & Incompatible.corrupt) {
      throw corrupt('image is marked corrupt (incompatible feature bit 1)');
    }
    if (incompatibleFeatures & Incompatible.externalDataFile) {
      throw unsupported(
        'qcow2 images with an external data file are not supported',
      );
    }
    if (incompatibleFeatures & Incompatible.extendedL2) {
      throw unsupported(
        'qcow2 images with extended l2 entries (subclusters) are not supported',
      );
    }
    refcountOrder = requireRange(
      readU32(bytes, HeaderField.refcountOrder),
      0,
      6,
      'refcount_order',
    );
  }
  const compressionType = decodeCompressionType({
    bytes,
    headerLength,
    incompatibleFeatures,
  });

  const virtualSize = readU64(bytes, HeaderField.size);
  requireRange(virtualSize, 0, Number.MAX_SAFE_INTEGER, 'size');
  const geometry = new ClusterGeometry({ clusterBits, virtualSize });
  const l1Size = readU32(bytes, HeaderField.l1Size);
  if (l1Size < geometry.l1Entries) {
    throw corrupt(
      `header field l1_size is ${l1Size}, fewer than the ${geometry.l1Entries} entries a ${virtualSize}-byte disk needs`,
    );
  }
  requireRange(l1Size * 8, 0, MAX_L1_BYTES, 'l1_size (in bytes)');
  const l1TableOffset = readU64(bytes, HeaderField.l1TableOffset);
  if (l1Size > 0) {
    requireRange(
      l1TableOffset,
      clusterSize,
      fileSize - l1Size * 8,
      'l1_table_offset',
    );
    if (l1TableOffset % clusterSize !== 0) {
      throw corrupt(
        `header field l1_table_offset ${l1TableOffset} is not cluster aligned`,
      );
    }
  }
  const refcountTableOffset = readU64(bytes, HeaderField.refcountTableOffset);
  if (
    refcountTableOffset % clusterSize !== 0 ||
    refcountTableOffset > Number.MAX_SAFE_INTEGER
  ) {
    throw corrupt(
      `header field refcount_table_offset ${refcountTableOffset} is not cluster aligned`,
    );
  }
  const { backing, encryption } = decodeExtensions({
    bytes,
    fileSize,
    clusterSize,
    headerLength,
    version,
  });
  if (cryptMethod === CryptMethod.luks && !encryption) {
    throw corrupt(
      'crypt_method is luks but the full disk encryption header extension is missing',
    );
  }
  if (cryptMethod !== CryptMethod.luks && encryption) {
    throw corrupt(
      'full disk encryption header extension present but crypt_method is not luks',
    );
  }
  return {
    version,
    geometry,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters: readU32(bytes, HeaderField.refcountTableClusters),
    refcountOrder,
    nbSnapshots: readU32(bytes, HeaderField.nbSnapshots),
    headerLength,
    incompatibleFeatures,
    backing,
    compressionType,
    encryption,
  };
}

function decodeCompressionType(options: {
  bytes: Uint8Array;
  headerLength: number;
  incompatibleFeatures: number;
}): CompressionType {
  const { bytes, headerLength } = options;
  const code =
    headerLength > HeaderField.compressionType
      ? bytes[HeaderField.compressionType]
      : 0;
  const flagged =
    (options.incompatibleFeatures & Incompatible.compressionType) !== 0;
  if (!flagged) {
    if (code !== CompressionTypeCode.deflate) {
      throw corrupt(
        `header field compression_type is ${code} but the compression type incompatible bit is not set`,
      );
    }
    return 'deflate';
  }
  if (code === CompressionTypeCode.zstd) return 'zstd';
  if (code === CompressionTypeCode.deflate) {
    throw corrupt(
      'the compression type incompatible bit is set but compression_type is 0 (zlib)',
    );
  }
  throw unsupported(
    `header field compression_type ${code} is not supported (0 zlib and 1 zstd are)`,
  );
}

/** How many leading bytes {@link decodeHeader} needs, once `clusterBits` is known. */
export function headerBytesNeeded(options: {
  fileSize: number;
  clusterBits: number;
}): number {
  const bits = Math.min(
    Math.max(options.clusterBits, MIN_CLUSTER_BITS),
    MAX_CLUSTER_BITS,
  );
  return Math.min(options.fileSize, 2 ** bits);
}

function decodeExtensions(options: {
  bytes: Uint8Array;
  fileSize: number;
  clusterSize: number;
  headerLength: number;
  version: number;
}): Pick<Qcow2Header, 'backing' | 'encryption'> {
  const { bytes, clusterSize, headerLength } = options;
  const nameOffset = readU64(bytes, HeaderField.backingFileOffset);
  const limit = Math.min(clusterSize, bytes.length);
  let format: string | undefined;
  let encryption: EncryptionHeaderPointer | undefined;
  if (options.version === 3) {
    let at = headerLength;
    for (let count = 0; ; count++) {
      if (count > MAX_HEADER_EXTENSIONS)
        throw corrupt('header has too many extensions');
      if (at + 8 > limit)
        throw corrupt('header extensions run past the first cluster');
      const type = readU32(bytes, at);
      const length = readU32(bytes, at + 4);
      if (type === Extension.end) break;
      const padded = Math.ceil(length / 8) * 8;
      if (at + 8 + padded > limit) {
        throw corrupt(
          `header extension 0x${type.toString(16)} runs past the first cluster`,
        );
      }
      if (type === Extension.backingFormat) {
        if (length > MAX_BACKING_FORMAT_BYTES) {
          throw corrupt(
            `backing format extension is ${length} bytes, more than ${MAX_BACKING_FORMAT_BYTES}`,
          );
        }
        format = decodeText(
          bytes.subarray(at + 8, at + 8 + length),
          'backing format',
        );
      } else if (type === Extension.fullDiskEncryption) {
        encryption = decodeEncryptionPointer({
          bytes: bytes.subarray(at + 8, at + 8 + length),
          fileSize: options.fileSize,
          clusterSize,
        });
      } else if (type === Extension.externalDataFile) {
        throw unsupported(
          'qcow2 images with an external data file are not supported',
        );
      }
      at += 8 + padded;
    }
  }
  if (nameOffset === 0) return { backing: undefined, encryption };
  const nameSize = readU32(bytes, HeaderField.backingFileSize);
  requireRange(nameSize, 1, MAX_BACKING_FILE_NAME_BYTES, 'backing_file_size');
  requireRange(
    nameOffset,
    V2_HEADER_LENGTH,
    limit - nameSize,
    'backing_file_offset',
  );
  const name = decodeText(
    bytes.subarray(nameOffset, nameOffset + nameSize),
    'backing file name',
  );
  return { backing: { name, format }, encryption };
}

function decodeEncryptionPointer(options: {
  bytes: Uint8Array;
  fileSize: number;
  clusterSize: number;
}): EncryptionHeaderPointer {
  const { bytes, fileSize, clusterSize } = options;
  if (bytes.length !== FDE_EXTENSION_BYTES) {
    throw corrupt(
      `full disk encryption header extension is ${bytes.length} bytes, not ${FDE_EXTENSION_BYTES}`,
    );
  }
  const headerOffset = readU64(bytes, 0);
  const headerLength = readU64(bytes, 8);
  requireRange(
    headerLength,
    1,
    MAX_ENCRYPTION_HEADER_BYTES,
    'encryption header length',
  );
  requireRange(
    headerOffset,
    clusterSize,
    fileSize - headerLength,
    'encryption header offset',
  );
  if (headerOffset % clusterSize !== 0) {
    throw corrupt(
      `encryption header offset ${headerOffset} is not cluster aligned`,
    );
  }
  return { format: 'luks', headerOffset, headerLength };
}
