/** Tells whether a byte range is all zeros by a native compare with a zero buffer. */
export class ZeroCheck {
  private readonly zeros: Buffer;

  constructor(maxBytes: number) {
    this.zeros = Buffer.alloc(maxBytes);
  }

  isZero(data: Uint8Array, start: number, end: number): boolean {
    return this.zeros.compare(data, start, end, 0, end - start) === 0;
  }
}
