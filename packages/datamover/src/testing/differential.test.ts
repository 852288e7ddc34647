import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Repository } from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { requireQemu } from '@ferry/qcow2/src/testing/qemu';
import { datamoverRound, type DatamoverRoundReport } from './differential';
import { objectFile } from './objectFile';

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

  it.each([8, 15])('seed %i: every backup checked by qemu-img and restored byte-exact, also after a delete', async seed => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const dir = await fs.mkdtemp(path.join(kind.scratch, `round-${seed}-`));
    try {
      const report = await datamoverRound({
        seed,
        repo,
        dir,
        storedFile: key => objectFile(repo.target, key, kind.server?.dataDir),
        maxBytes: 16 * MiB,
      });
      reports.push(report);
      expect(report.backups.length).toBeGreaterThanOrEqual(2);
    } finally {
      await repo.target.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('the seeds cover incrementals with and without changed ranges and a refused resize', () => {
    const incrementals = reports.flatMap(r => r.backups.filter(b => b.kind === 'incremental'));
    expect(incrementals.some(b => b.cbt)).toBe(true);
    expect(incrementals.some(b => !b.cbt)).toBe(true);
    expect(reports.some(r => r.refusedResizes > 0)).toBe(true);
  });
});
