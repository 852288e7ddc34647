import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { requireQemu } from '@ferry/qcow2/src/testing/qemu';
import { datamoverRoundOn, type DatamoverRoundReport } from './differential';

const MiB = 1024 * 1024;
jest.setTimeout(180_000);

/*
 * A few fixed seeds of the datamover's differential soak (`npm run soak:datamover` runs many
 * more) on both targets. The last test of each target checks that the seeds still cover what
 * they were chosen for.
 */
describe.each(testTargetKinds())('datamover differential rounds on a $name target', kind => {
  const reports: DatamoverRoundReport[] = [];
  beforeAll(async () => {
    requireQemu();
    await kind.setup();
  }, 60_000);
  afterAll(() => kind.teardown());

  it.each([11, 13])('seed %i: every backup checked by qemu-img and restored byte-exact, also after a delete', async seed => {
    const report = await datamoverRoundOn(kind, { seed, maxBytes: 16 * MiB });
    reports.push(report);
    expect(report.backups.length).toBeGreaterThanOrEqual(2);
  });

  it('the seeds cover incrementals with and without changed ranges and a refused resize', () => {
    const incrementals = reports.flatMap(r => r.backups.filter(b => b.kind === 'incremental'));
    expect(incrementals.some(b => b.cbt)).toBe(true);
    expect(incrementals.some(b => !b.cbt)).toBe(true);
    expect(reports.some(r => r.refusedResizes > 0)).toBe(true);
  });
});
