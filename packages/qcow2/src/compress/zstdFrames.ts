import { corrupt } from '../format/errors';

/*
 * The length of a zstd frame (RFC 8878, section 3.1.1), read from its headers without
 * decompressing. QEMU stores a compressed cluster as one zstd frame and records its length only
 * to the sector: the bytes after the frame (the next compressed cluster, or padding) are read
 * with it. QEMU's own reader stops once a cluster is produced; Node's `zstdDecompress` instead
 * takes whatever follows a frame for another frame and fails. Node exposes no
 * `ZSTD_findFrameCompressedSize`, hence this walk over the block headers (no decoding).
 */

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

function u32le(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)) +
    bytes[at + 3] * 0x100_0000
  );
}

/**
 * Bytes of the frame (or skippable frame) starting at `at` of `bytes`; a frame that runs past
 * the end of `bytes` or is malformed is a `corrupt` error naming `what`.
 */
export function zstdFrameLength(
  bytes: Uint8Array,
  at: number,
  what: string,
): number {
  const need = (position: number) => {
    if (position > bytes.length)
      throw corrupt(`zstd frame of ${what} runs past its compressed bytes`);
  };
  need(at + 4);
  const magic = u32le(bytes, at);
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    need(at + 8);
    const length = 8 + u32le(bytes, at + 4);
    need(at + length);
    return length;
  }
  if (magic !== ZSTD_MAGIC)
    throw corrupt(`compressed data of ${what} is not a zstd frame`);
  need(at + 5);
  const descriptor = bytes[at + 4];
  if ((descriptor & 0x08) !== 0)
    throw corrupt(`zstd frame of ${what} has its reserved header bit set`);
  const fcsFlag = descriptor >>> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const checksum = (descriptor & 0x04) !== 0;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03];
  const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
  let position =
    at + 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
  for (;;) {
    need(position + 3);
    const header =
      bytes[position] | (bytes[position + 1] << 8) | (bytes[position + 2] << 16);
    const last = (header & 1) !== 0;
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type === 3)
      throw corrupt(`zstd frame of ${what} has a block of reserved type`);
    position += 3 + (type === 1 ? 1 : size);
    need(position);
    if (last) break;
  }
  if (checksum) position += 4;
  need(position);
  return position - at;
}
