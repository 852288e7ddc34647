import { WindowPool } from './WindowPool';

/** Each window's result: its offset + length + slot's cluster index, per cluster; throws at offset 666. */
const SCAN = `(function (m) {
  return slot => {
    const offset = m.heads[2 * slot];
    const length = m.heads[2 * slot + 1];
    if (offset === 666) throw new Error('window at 666 refused');
    for (let i = 0; i < m.perWindow; i++) m.out[slot * m.perWindow + i] = offset + length + i + m.bias[slot];
  };
})`;

function pool(o: { workers: number; callerScans: boolean }) {
  const perWindow = 4;
  const slots = 3;
  const out = new Float64Array(new SharedArrayBuffer(slots * perWindow * 8));
  const bias = new Float64Array(new SharedArrayBuffer(slots * 8));
  const p = new WindowPool({
    scanFactory: SCAN,
    data: { out, bias },
    helpers: [],
    perWindow,
    slots,
    ...o,
    mapError: message => new Error(`mapped: ${message}`),
  });
  return { p, out, bias, perWindow };
}

describe('WindowPool', () => {
  it.each([
    ['two workers', { workers: 2, callerScans: false }],
    ['the calling thread only', { workers: 0, callerScans: true }],
    ['a worker and the calling thread', { workers: 1, callerScans: true }],
  ])('hands windows back in posting order, each with what fill wrote (%s)', async (_, o) => {
    const { p, out, bias, perWindow } = pool(o);
    try {
      const seen: number[] = [];
      let next = 0;
      for (let window = 0; window < 20; window++) {
        while (p.inFlight < p.inFlightLimit && next < 20) {
          const posted = next;
          p.post(posted * 1000, 10, slot => {
            bias[slot] = posted;
          });
          next++;
        }
        const slot = await p.take();
        seen.push(out[slot * perWindow + 1]);
        p.release();
      }
      expect(seen).toEqual(Array.from({ length: 20 }, (_x, w) => w * 1000 + 10 + 1 + w));
    } finally {
      await p.close();
    }
  });

  it.each([
    ['a worker', { workers: 1, callerScans: false }],
    ['the calling thread', { workers: 0, callerScans: true }],
  ])('a scan that throws on %s fails that window through mapError', async (_, o) => {
    const { p } = pool(o);
    try {
      p.post(0, 10);
      p.post(666, 10);
      await p.take();
      p.release();
      await expect(p.take()).rejects.toThrow('mapped: window at 666 refused');
    } finally {
      await p.close();
    }
  });

  it('refuses more windows than its slots, a take with nothing posted, a release with nothing taken', async () => {
    const { p } = pool({ workers: 0, callerScans: true });
    try {
      await expect(p.take()).rejects.toThrow('no window posted');
      expect(() => p.release()).toThrow('no window taken');
      for (let i = 0; i < p.inFlightLimit; i++) p.post(i, 1);
      expect(() => p.post(99, 1)).toThrow('too many windows in flight');
    } finally {
      await p.close();
    }
  });

  it('needs one scanning thread', () => {
    expect(
      () =>
        new WindowPool({
          scanFactory: SCAN,
          data: {},
          helpers: [],
          perWindow: 1,
          workers: 0,
          callerScans: false,
          mapError: m => new Error(m),
        }),
    ).toThrow(/one scanning thread/);
  });
});
