/**
 * Big-endian integer codecs on plain byte arrays. QCOW2 stores every number big-endian.
 * 64-bit values are handled as JavaScript numbers (exact up to 2^53, i.e. 8 PiB), which covers
 * every offset and size an image can meaningfully hold; {@link readU64} maps larger values to
 * `Infinity` so that range checks refuse them.
 */

const TWO_POW_32 = 0x1_0000_0000;

export function readU32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] << 24) >>> 0) +
    (bytes[at + 1] << 16) +
    (bytes[at + 2] << 8) +
    bytes[at + 3]
  );
}

export function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = (value >>> 24) & 0xff;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

export function readU16(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

export function writeU16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = (value >>> 8) & 0xff;
  bytes[at + 1] = value & 0xff;
}

/**
 * Reads a 64-bit value. Returns `Infinity` when it does not fit a safe integer, so range checks
 * written as `value > limit` reject it without a special case.
 */
export function readU64(bytes: Uint8Array, at: number): number {
  const high = readU32(bytes, at);
  const low = readU32(bytes, at + 4);
  if (high >= 0x20_0000) return Infinity;
  return high * TWO_POW_32 + low;
}

/** Writes a non-negative safe integer as a 64-bit big-endian value. */
export function writeU64(bytes: Uint8Array, at: number, value: number): void {
  writeU32(bytes, at, Math.floor(value / TWO_POW_32));
  writeU32(bytes, at + 4, value % TWO_POW_32);
}

/** Writes a 64-bit value given as its high and low 32-bit halves (used for flag bits). */
export function writeU64Parts(
  bytes: Uint8Array,
  at: number,
  high: number,
  low: number,
): void {
  writeU32(bytes, at, high);
  writeU32(bytes, at + 4, low);
}
