/**
 * npm run soak:qcow2 -- [--mode differential|fuzz] [--minutes M] [--rounds N] [--seed S] [--max-mib X]
 *
 * Seeded random rounds one after another, seeds S, S+1, …, until M minutes (10 by default) or N
 * rounds have passed. The first difference stops it with the seed that reproduces it
 * (`--seed <that> --rounds 1`). Ends with one summary line.
 * - `differential` (default): our writer and reader against qemu-img (src/testing/differential.ts);
 *   a failed round's files are kept.
 * - `fuzz`: 1,000 mutants of each corpus image per round read by our reader
 *   (src/testing/fuzzing.ts); each must read or be refused with a typed error.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { differentialRound, RoundReport } from '../src/testing/differential';
import { requireQemu } from '../src/testing/qemu';
import { fuzzCorpus, fuzzRound } from '../src/testing/fuzzing';
import { parseSoakArgs, SoakOptions, soakLoop } from '../src/testing/soakLoop';

function describe(report: RoundReport): string {
  const sizes = report.states.map(s => (s.size / 1024 / 1024).toFixed(1));
  const clusters = report.states.map(s => `${s.clusterSize / 1024}K`);
  return (
    `seed ${report.seed}: ${report.mode}, ${report.allocation}, ${report.protection}, ` +
    `${report.states.length} states of ${sizes.join('/')} MiB, clusters ` +
    `${clusters.join('/')}, ${report.checks} checks`
  );
}

async function differential(soak: SoakOptions): Promise<boolean> {
  return soakLoop({
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
}

const MUTATIONS = 1000;

async function fuzz(soak: SoakOptions): Promise<boolean> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-fuzz-'));
  const corpus = await fuzzCorpus(dir).finally(() =>
    fs.rm(dir, { recursive: true, force: true }),
  );
  return soakLoop({
    soak,
    on: 'mutated images',
    round: async seed => {
      // Seeds far apart: a round uses one per corpus image.
      const result = await fuzzRound({
        corpus,
        seed: seed * 64,
        mutations: MUTATIONS,
      });
      if (result.unexpected.length)
        throw new Error(result.unexpected.join('\n'));
      // Peak RSS of the process so far: a mutant making the reader allocate much would show.
      const rss = (process.resourceUsage().maxRSS / 1024).toFixed(0);
      return {
        checks: result.accepted + result.refused,
        line: `seed ${seed}: ${corpus.length * MUTATIONS} mutants, ${
          result.accepted
        } read, ${
          result.refused
        } refused with a typed error, peak RSS ${rss} MiB`,
      };
    },
  });
}

async function main(): Promise<void> {
  const soak = parseSoakArgs(process.argv.slice(2), {
    maxMiB: 80,
    extra: ['--mode'],
  });
  const mode = soak.extra['--mode'] ?? 'differential';
  if (mode !== 'differential' && mode !== 'fuzz')
    throw new Error(`--mode must be differential or fuzz, got "${mode}"`);
  requireQemu();
  const passed = await (mode === 'fuzz' ? fuzz(soak) : differential(soak));
  if (!passed) process.exitCode = 1;
}

main().catch(error => {
  process.stderr.write(
    `soak: ${error instanceof Error ? error.message : error}\n`,
  );
  process.exitCode = 1;
});
