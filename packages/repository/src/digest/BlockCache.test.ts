import { BlockCache, type CachedSegment } from './BlockCache';

const BLOCK = 1024;

/** Takes `count` buffers for new segments that stay busy (loading) until settled. */
function burst(cache: BlockCache, prefix: string, count: number): CachedSegment[] {
  const segments: CachedSegment[] = [];
  for (let i = 0; i < count; i++) {
    const buffer = cache.take(BLOCK, false)!;
    const segment = { buffer, length: BLOCK, ready: Promise.resolve(), settled: false, pins: 0 };
    cache.put(`${prefix}${i}`, segment);
    segments.push(segment);
  }
  return segments;
}

describe('BlockCache', () => {
  it('keeps the buffers taken beyond the budget for the next burst instead of allocating again', () => {
    const cache = new BlockCache({ budgetBytes: 3 * BLOCK });
    const first = burst(cache, 'a', 4); // the 4th found all 3 busy: one more
    expect(new Set(first.map(s => s.buffer)).size).toBe(4);
    for (const s of first) s.settled = true;
    cache.trim();
    const second = burst(cache, 'b', 4);
    const kept = new Set(first.map(s => s.buffer));
    expect(second.filter(s => kept.has(s.buffer))).toHaveLength(4);
  });

  it('frees idle buffers beyond twice the budget', () => {
    const cache = new BlockCache({ budgetBytes: 2 * BLOCK });
    const first = burst(cache, 'a', 6);
    for (const s of first) s.settled = true;
    cache.trim(); // 6 allocated, cap 4: the 2 least recently used go
    const second = burst(cache, 'b', 6);
    const kept = new Set(first.map(s => s.buffer));
    expect(second.filter(s => kept.has(s.buffer))).toHaveLength(4);
    expect(second.filter(s => !kept.has(s.buffer))).toHaveLength(2);
  });
});
