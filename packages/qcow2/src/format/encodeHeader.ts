import { writeU32, writeU64 } from '../codec/bigEndian';
import { ClusterGeometry } from './ClusterGeometry';
import {
  CompressionTypeCode,
  CryptMethod,
  Extension,
  FDE_EXTENSION_BYTES,
  HeaderField,
  Incompatible,
  MAX_BACKING_FILE_NAME_BYTES,
  MAX_BACKING_FORMAT_BYTES,
  QCOW2_MAGIC,
  V3_HEADER_LENGTH,
} from './constants';
import { invalidArgument } from './errors';
import type { CompressionType } from './header';

/**
 * Encodes the header cluster of an image this package writes: version 3, compat 1.1, 16-bit
 * refcounts, optional backing file. `compressionType` zstd sets the header's compression_type
 * byte and the compression type incompatible bit, as qemu requires; deflate (qemu's "zlib")
 * leaves both zero. `encryption` sets crypt_method 2 (LUKS) and the full disk encryption
 * header extension pointing at the LUKS header stored in the image.
 */
export function encodeHeaderCluster(options: {
  geometry: ClusterGeometry;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  backing?: { name: string; format: string };
  compressionType?: CompressionType;
  encryption?: { headerOffset: number; headerLength: number };
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
  if (options.compressionType === 'zstd') {
    writeU32(
      bytes,
      HeaderField.incompatibleFeatures + 4,
      Incompatible.compressionType,
    );
    bytes[HeaderField.compressionType] = CompressionTypeCode.zstd;
  }
  let at = V3_HEADER_LENGTH;
  if (options.encryption) {
    writeU32(bytes, HeaderField.cryptMethod, CryptMethod.luks);
    writeU32(bytes, at, Extension.fullDiskEncryption);
    writeU32(bytes, at + 4, FDE_EXTENSION_BYTES);
    writeU64(bytes, at + 8, options.encryption.headerOffset);
    writeU64(bytes, at + 16, options.encryption.headerLength);
    at += 8 + FDE_EXTENSION_BYTES;
  }
  if (!options.backing) return bytes; // the end-of-extensions marker is already zero
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
  return bytes;
}
