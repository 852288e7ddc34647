/**
 * npm run soak:qcow2 -- [--minutes M] [--rounds N] [--seed S] [--max-mib X]
 *
 * Differential soak against qemu-img: seeded random rounds (src/testing/differential.ts) one
 * after another, seeds S, S+1, …, until M minutes (10 by default) or N rounds have passed. The
 * first difference stops it with the seed that reproduces it (`--seed <that> --rounds 1`), and
 * its files are kept. Ends with one summary line.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { differentialRound, RoundReport } from '../src/testing/differential';
import { requireQemu } from '../src/testing/qemu';
import { parseSoakArgs, soakLoop } from '../src/testing/soakLoop';

function describe(report: RoundReport): string {
  const sizes = report.states.map(s => (s.size / 1024 / 1024).toFixed(1));
  const clusters = report.states.map(s => `${s.clusterSize / 1024}K`);
  return (
    `seed ${report.seed}: ${report.mode}, ${report.allocation}, ` +
    `${report.states.length} states of ${sizes.join('/')} MiB, clusters ` +
    `${clusters.join('/')}, ${report.checks} checks`
  );
}

async function main(): Promise<void> {
  const soak = parseSoakArgs(process.argv.slice(2), { maxMiB: 80 });
  requireQemu();
  const passed = await soakLoop({
    soak,
    on: 'local files',
    round: async seed => {
      const dir = await fs.mkdtemp(
        path.join(os.tmpdir(), `ferry-soak-${seed}-`),
      );
      let report: RoundReport;
      try {
        report = await differentialRound({
          seed,
          dir,
          maxBytes: soak.maxMiB * 1024 * 1024,
        });
      } catch (error) {
        process.stdout.write(`files kept in ${dir}\n`);
        throw error;
      }
      await fs.rm(dir, { recursive: true, force: true });
      return { checks: report.checks, line: describe(report) };
    },
  });
  if (!passed) process.exitCode = 1;
}

main().catch(error => {
  process.stderr.write(
    `soak: ${error instanceof Error ? error.message : error}\n`,
  );
  process.exitCode = 1;
});
