/**
 * Tells whether a byte range is all zeros, comparing natively (memcmp) against a zero buffer
 * of one cluster, with no allocation per call.
 */
export class ZeroDetector {
  private readonly zeros: Buffer;

  constructor(maxBytes: number) {
    this.zeros = Buffer.alloc(maxBytes);
  }

  /** True when `bytes[start, end)` (at most `maxBytes` long) are all zero. */
  isZero(bytes: Uint8Array, start: number, end: number): boolean {
    return this.zeros.compare(bytes, start, end, 0, end - start) === 0;
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
