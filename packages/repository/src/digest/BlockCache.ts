import { HashPool } from './HashPool';

/** A cached segment of an image: its bytes once `ready` resolved; pinned while read. */
export interface CachedSegment {
  buffer: Buffer;
  length: number;
  ready: Promise<void>;
  settled: boolean;
  pins: number;
}

/**
 * Segments of images read through `VerifiedRangeSource`s, in reused buffers shared by every
 * source given this cache (the layers of one chain) within a byte budget: memory stays the same
 * however long the chain is, and a layer that is read a lot gets more of it. Least recently
 * used segments go first; a segment that is loading, or that a reader is copying from, stays.
 */
export class BlockCache {
  private readonly entries = new Map<string, CachedSegment>();
  private readonly spare: Buffer[] = [];
  private allocated = 0;

  constructor(
    readonly o: {
      /** Bytes of buffers at most (a reader that finds all of them busy gets one more for a moment). */
      budgetBytes: number;
      /** Shared memory, for hashing on a HashPool's threads. */
      shared?: boolean;
    },
  ) {}

  get(key: string): CachedSegment | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * A buffer of at least `bytes` for a new segment: a spare one, a new one while within the
   * budget, or the least recently used idle segment's. Read-ahead passes `optional` and gets
   * none when all are busy.
   */
  take(bytes: number, optional: boolean): Buffer | undefined {
    const fit = this.spare.findIndex(b => b.length >= bytes);
    if (fit >= 0) return this.spare.splice(fit, 1)[0];
    if (this.allocated + bytes <= this.o.budgetBytes) return this.allocate(bytes);
    for (const [key, entry] of this.entries) {
      if (entry.pins > 0 || !entry.settled || entry.buffer.length < bytes) continue;
      this.entries.delete(key);
      return entry.buffer;
    }
    return optional ? undefined : this.allocate(bytes);
  }

  put(key: string, segment: CachedSegment): void {
    this.entries.set(key, segment);
  }

  /** Forgets a segment (a failed one: its buffer is not reused). */
  drop(key: string, segment: CachedSegment): void {
    if (this.entries.get(key) !== segment) return;
    this.entries.delete(key);
    this.allocated -= segment.buffer.length;
  }

  /**
   * Frees idle buffers beyond twice the budget (after a burst of busy ones). Buffers taken
   * beyond the budget while all were busy are kept for the next burst: a restore's concurrent
   * reads bring a few every window, and freeing each one at once left a garbage buffer per
   * window that V8 collected late (measured: 16 GiB chain of 2 into a loop device, 37 MiB of
   * buffers allocated for a 6 MiB budget and peak RSS 141 MiB; kept, 9 MiB and 114 MiB).
   */
  trim(): void {
    const cap = 2 * this.o.budgetBytes;
    if (this.allocated <= cap) return;
    while (this.allocated > cap && this.spare.length) this.allocated -= this.spare.pop()!.length;
    for (const [key, entry] of this.entries) {
      if (this.allocated <= cap) break;
      if (entry.pins > 0 || !entry.settled) continue;
      this.entries.delete(key);
      this.allocated -= entry.buffer.length;
    }
  }

  /** Forgets every segment of one source (when it closes). */
  forget(prefix: string): void {
    for (const [key, entry] of this.entries) {
      if (!key.startsWith(prefix) || entry.pins > 0 || !entry.settled) continue;
      this.entries.delete(key);
      this.spare.push(entry.buffer);
    }
  }

  private allocate(bytes: number): Buffer {
    this.allocated += bytes;
    return this.o.shared ? HashPool.sharedBuffer(bytes) : Buffer.allocUnsafeSlow(bytes);
  }
}
