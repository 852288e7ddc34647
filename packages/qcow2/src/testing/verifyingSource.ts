import { createHash } from 'node:crypto';
import type { RangeSource } from '../io';

/**
 * What integrity of a stored image rests on (LUKS/XTS is not authenticated): a SHA-256 per
 * block of the image file, kept apart from it, checked on every read. This is the scheme of
 * the repository's `<id>.sums` and `VerifiedRangeSource`; this test double lets the QCOW2 tests
 * show that a tampered encrypted image decrypts silently without it and is refused with it.
 */
export function blockSums(bytes: Uint8Array, blockSize: number): Buffer[] {
  const sums: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += blockSize)
    sums.push(createHash('sha256').update(bytes.subarray(at, at + blockSize)).digest());
  return sums;
}

export class VerifyingRangeSource implements RangeSource {
  constructor(
    private readonly inner: RangeSource,
    private readonly sums: Buffer[],
    private readonly blockSize: number,
  ) {}

  size(): Promise<number> {
    return this.inner.size();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const target = new Uint8Array(length);
    await this.readInto(target, offset);
    return target;
  }

  async readInto(target: Uint8Array, offset: number): Promise<void> {
    const size = await this.inner.size();
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + target.length - 1) / this.blockSize);
    for (let block = first; block <= last && target.length > 0; block++) {
      const start = block * this.blockSize;
      const bytes = await this.inner.read(start, Math.min(this.blockSize, size - start));
      const digest = createHash('sha256').update(bytes).digest();
      if (!digest.equals(this.sums[block]))
        throw new Error(`block ${block} of the image does not match its digest`);
      const from = Math.max(offset, start);
      const to = Math.min(offset + target.length, start + bytes.length);
      target.set(bytes.subarray(from - start, to - start), from - offset);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
