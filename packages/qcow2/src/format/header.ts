import { readU32, readU64, writeU32, writeU64 } from '../codec/bigEndian';
import { ClusterGeometry } from './ClusterGeometry';
import {
  Extension,
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
  V3_HEADER_LENGTH,
  V3_MIN_HEADER_LENGTH,
} from './constants';
import { corrupt, invalidArgument, unsupported } from './errors';

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
}

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
  if (readU32(bytes, HeaderField.cryptMethod) !== 0) {
    throw unsupported(
      'encrypted qcow2 images are not supported (crypt_method is not 0)',
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
  const backing = decodeBacking({
    bytes,
    fileSize,
    clusterSize,
    headerLength,
    version,
  });
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
  };
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

function decodeBacking(options: {
  bytes: Uint8Array;
  fileSize: number;
  clusterSize: number;
  headerLength: number;
  version: number;
}): Qcow2Header['backing'] {
  const { bytes, clusterSize, headerLength } = options;
  const nameOffset = readU64(bytes, HeaderField.backingFileOffset);
  const limit = Math.min(clusterSize, bytes.length);
  let format: string | undefined;
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
        throw unsupported(
          'encrypted qcow2 images are not supported (encryption header extension)',
        );
      } else if (type === Extension.externalDataFile) {
        throw unsupported(
          'qcow2 images with an external data file are not supported',
        );
      }
      at += 8 + padded;
    }
  }
  if (nameOffset === 0) return undefined;
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
  return { name, format };
}

/**
 * Encodes the header cluster of an image this package writes: version 3, compat 1.1 (no
 * feature bits), 16-bit refcounts, zlib compression type (unused), optional backing file.
 */
export function encodeHeaderCluster(options: {
  geometry: ClusterGeometry;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  backing?: { name: string; format: string };
}): Uint8Array {
  const { geometry } = options;
  const bytes = new Uint8Array(geometry.clusterSize);
  writeU32(bytes, HeaderField.magic, QCOW2_MAGIC);
  writeU32(bytes, HeaderField.version, 3);
  writeU32(bytes, HeaderField.clusterBits, geometry.clusterBits);
  writeU64(bytes, HeaderField.size, geometry.virtualSize);
  writeU32(bytes, HeaderField.l1Size, geometry.l1Entries);
  writeU64(bytes, HeaderField.l1TableOffset, options.l1TableOffset);
  writeU64(bytes, HeaderField.refcountTableOffset, options.refcountTableOffset);
  writeU32(
    bytes,
    HeaderField.refcountTableClusters,
    options.refcountTableClusters,
  );
  writeU32(bytes, HeaderField.refcountOrder, 4);
  writeU32(bytes, HeaderField.headerLength, V3_HEADER_LENGTH);
  let at = V3_HEADER_LENGTH;
  if (options.backing) {
    const format = new TextEncoder().encode(options.backing.format);
    const name = new TextEncoder().encode(options.backing.name);
    if (format.length === 0 || format.length > MAX_BACKING_FORMAT_BYTES) {
      throw invalidArgument(
        `backing format "${options.backing.format}" must be 1..16 bytes`,
      );
    }
    if (name.length === 0 || name.length > MAX_BACKING_FILE_NAME_BYTES) {
      throw invalidArgument(
        `backing file name must be 1..${MAX_BACKING_FILE_NAME_BYTES} bytes, got ${name.length}`,
      );
    }
    writeU32(bytes, at, Extension.backingFormat);
    writeU32(bytes, at + 4, format.length);
    bytes.set(format, at + 8);
    at += 8 + Math.ceil(format.length / 8) * 8;
    at += 8; // end-of-extensions marker (type 0, length 0) is already zero
    if (at + name.length > bytes.length) {
      throw invalidArgument(
        `backing file name does not fit a ${geometry.clusterSize}-byte header cluster`,
      );
    }
    bytes.set(name, at);
    writeU64(bytes, HeaderField.backingFileOffset, at);
    writeU32(bytes, HeaderField.backingFileSize, name.length);
  }
  return bytes;
}
