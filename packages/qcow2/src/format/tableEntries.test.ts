import { writeU64Parts } from '../codec/bigEndian';
import { encodeAllocatedEntry, zeroEntriesEnd } from './tableEntries';

describe('zeroEntriesEnd', () => {
  // 64 entries; non-zero ones at 10 (offset, low word), 20 (copied flag only, high word) and
  // 63 (last entry).
  function table(byteOffset: number): Uint8Array {
    const bytes = new Uint8Array(byteOffset + 64 * 8).subarray(byteOffset);
    encodeAllocatedEntry(bytes, 10, 0x30000);
    writeU64Parts(bytes, 20 * 8, 0x8000_0000, 0);
    encodeAllocatedEntry(bytes, 63, 0x1_0000_0000);
    return bytes;
  }

  it.each([0, 1, 4])(
    'stops at the first entry with any bit set (table at byte offset %i of its buffer)',
    byteOffset => {
      const t = table(byteOffset);
      expect(zeroEntriesEnd(t, 0, 64)).toBe(10);
      expect(zeroEntriesEnd(t, 10, 64)).toBe(10);
      expect(zeroEntriesEnd(t, 11, 64)).toBe(20);
      expect(zeroEntriesEnd(t, 21, 64)).toBe(63);
      expect(zeroEntriesEnd(t, 21, 40)).toBe(40);
      expect(zeroEntriesEnd(t, 5, 5)).toBe(5);
    },
  );
});
