import { requireQemu } from './qemu';
import { makeTempDir, removeDir } from './tempDir';
import { differentialRound, Protection, RoundReport } from './differential';
import { IO_MODES } from './images';

const MiB = 1024 * 1024;

/*
 * A few fixed seeds of the differential soak (`npm run soak:qcow2` runs many more): each seed
 * is a random sparse volume and up to 5 later states, backed up and compared with qemu-img.
 * The last test checks that these seeds still cover what they were chosen for.
 */
describe('differential rounds against qemu-img', () => {
  const reports: RoundReport[] = [];
  beforeAll(() => requireQemu());

  it.each([4, 19, 22, 26, 29])(
    'seed %i: images clean and equal to the volume, overlays minimal, both chains read back and hydrate',
    async seed => {
      const dir = await makeTempDir(`differential-${seed}`);
      try {
        const report = await differentialRound({
          seed,
          dir,
          maxBytes: 24 * MiB,
          protection: 'none',
        });
        reports.push(report);
        expect(report.states.length).toBeGreaterThanOrEqual(2);
        // Per state: check, compare, clusters, two chains read back; then 2 chains × 2 hydrates.
        expect(report.checks).toBe(5 * report.states.length + 4);
      } finally {
        await removeDir(dir);
      }
    },
    120_000,
  );

  it.each([
    [4, 'deflate'],
    [19, 'zstd'],
    [22, 'luks'],
    [29, 'luks'],
  ] as Array<[number, Protection]>)(
    'seed %i with %s images: clean and equal to the volume (qemu-img given the passphrase), overlays minimal, read back, hydrated',
    async (seed, protection) => {
      const dir = await makeTempDir(`differential-${protection}-${seed}`);
      try {
        const report = await differentialRound({ seed, dir, maxBytes: 24 * MiB, protection });
        expect(report.protection).toBe(protection);
        expect(report.checks).toBe(5 * report.states.length + 4);
      } finally {
        await removeDir(dir);
      }
    },
    180_000,
  );

  it('the seeds cover every I/O mode, both allocations, resizing and cluster size changes', () => {
    expect(new Set(reports.map(r => r.mode))).toEqual(new Set(IO_MODES));
    expect(new Set(reports.map(r => r.allocation)).size).toBe(2);
    const pairs = reports.flatMap(r =>
      r.states.slice(1).map((state, i) => [r.states[i], state] as const),
    );
    expect(pairs.some(([a, b]) => b.size > a.size)).toBe(true);
    expect(pairs.some(([a, b]) => b.size < a.size)).toBe(true);
    expect(pairs.some(([a, b]) => b.clusterSize !== a.clusterSize)).toBe(true);
  });
});
