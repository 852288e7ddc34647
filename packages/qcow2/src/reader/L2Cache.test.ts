import { L2Cache } from './L2Cache';

describe('L2Cache', () => {
  const load = (value: number) => async (target: Uint8Array) => {
    await new Promise(resolve => setTimeout(resolve, 1));
    target.fill(value);
  };

  it('keeps at most maxBytes of tables, shares concurrent loads and never hands out a recycled buffer early', async () => {
    const cache = new L2Cache({ tableBytes: 16, maxBytes: 32 });
    let loads = 0;
    const counted = (value: number) => (target: Uint8Array) => {
      loads++;
      return load(value)(target);
    };
    const [a1, a2] = await Promise.all([
      cache.get(1, counted(1)),
      cache.get(1, counted(1)),
    ]);
    expect(a1).toBe(a2);
    expect(loads).toBe(1);
    // Evict table 1 while a consumer is still waiting for table 2 and 3 to load.
    const waiting = [
      cache.get(2, counted(2)),
      cache.get(3, counted(3)),
      cache.get(4, counted(4)),
    ];
    const tables = await Promise.all(waiting);
    expect(tables.map(t => t[0])).toEqual([2, 3, 4]);
    await new Promise(resolve => setImmediate(resolve));
    // Table 1 and 2 were evicted; their buffers are reused for new loads without corrupting 3 and 4.
    const [five, six] = await Promise.all([
      cache.get(5, counted(5)),
      cache.get(6, counted(6)),
    ]);
    expect([five[0], six[0]]).toEqual([5, 6]);
    expect(await cache.get(6, counted(9))).toBe(six);
    expect(loads).toBe(6);
  });

  it('forgets a failed load so it can be retried', async () => {
    const cache = new L2Cache({ tableBytes: 16, maxBytes: 64 });
    await expect(
      cache.get(1, async () => Promise.reject(new Error('io'))),
    ).rejects.toThrow('io');
    await new Promise(resolve => setImmediate(resolve));
    expect((await cache.get(1, load(7)))[0]).toBe(7);
  });
});
