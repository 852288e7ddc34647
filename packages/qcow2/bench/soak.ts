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

function option(args: string[], name: string): number | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(
      `${name} needs a non-negative integer, got "${args[at + 1]}"`,
    );
  return value;
}

function describe(report: RoundReport, seconds: number): string {
  const sizes = report.states.map(s => (s.size / 1024 / 1024).toFixed(1));
  const clusters = report.states.map(s => `${s.clusterSize / 1024}K`);
  return (
    `seed ${report.seed}: ${report.mode}, ${report.allocation}, ` +
    `${report.states.length} states of ${sizes.join('/')} MiB, clusters ` +
    `${clusters.join('/')}, ${report.checks} checks, ${seconds.toFixed(1)} s`
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const known = new Set(['--minutes', '--rounds', '--seed', '--max-mib']);
  for (let i = 0; i < args.length; i += 2) {
    if (!known.has(args[i]))
      throw new Error(
        `unknown option "${args[i]}": use ${[...known].join(', ')}`,
      );
  }
  const minutes = option(args, '--minutes') ?? 10;
  const rounds = option(args, '--rounds') ?? Infinity;
  const firstSeed = option(args, '--seed') ?? Date.now() % 1_000_000;
  const maxMiB = option(args, '--max-mib') ?? 80;
  requireQemu();
  const deadline = Date.now() + minutes * 60_000;
  let done = 0;
  let checks = 0;
  const started = Date.now();
  for (let seed = firstSeed; done < rounds && Date.now() < deadline; seed++) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ferry-soak-${seed}-`));
    const t0 = Date.now();
    try {
      const report = await differentialRound({
        seed,
        dir,
        maxBytes: maxMiB * 1024 * 1024,
      });
      checks += report.checks;
      done++;
      process.stdout.write(`${describe(report, (Date.now() - t0) / 1000)}\n`);
    } catch (error) {
      process.stdout.write(
        `DIFFERENCE (files kept in ${dir}): ${
          error instanceof Error ? error.stack : String(error)
        }\n${done} rounds passed before it\n`,
      );
      process.exitCode = 1;
      return;
    }
    await fs.rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `${done} rounds (seeds ${firstSeed}–${
      firstSeed + done - 1
    }), ${checks} checks, 0 differences, ${(
      (Date.now() - started) /
      1000
    ).toFixed(0)} s\n`,
  );
}

main().catch(error => {
  process.stderr.write(
    `soak: ${error instanceof Error ? error.message : error}\n`,
  );
  process.exitCode = 1;
});
