/**
 * Tells whether a byte range is all zeros with native code and no allocation per call: the
 * first 8 bytes are checked one by one, then the range is compared (memcmp) with itself shifted
 * by 8 bytes; equal means every byte equals the one 8 before it, hence zero. Comparing a range
 * with itself reads one memory stream instead of two (range + zero buffer), and memcmp stops at
 * the first difference, so data clusters cost almost nothing.
 */
export class ZeroDetector {
  /** True when `bytes[start, end)` are all zero. */
  isZero(bytes: Buffer, start: number, end: number): boolean {
    const head = Math.min(end, start + 8);
    for (let i = start; i < head; i++) if (bytes[i] !== 0) return false;
    return (
      head === end || bytes.compare(bytes, start + 8, end, start, end - 8) === 0
    );
  }
}

/** True when `a[start, end)` equals `b[start, end)`, compared natively. */
export function rangesEqual(
  a: Buffer,
  b: Uint8Array,
  start: number,
  end: number,
): boolean {
  return a.compare(b, start, end, start, end) === 0;
}

/** A Buffer view of the same memory (no copy), for the native comparisons above. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
