/**
 * npm run soak:datamover -- [--target filesystem|s3] [--minutes M] [--rounds N] [--seed S] [--max-mib X]
 *
 * Differential soak of the datamover's volume path (src/testing/differential.ts): seeded random
 * rounds of backups, restores and a delete through a real repository on a temp folder (default)
 * or on the sandbox's S3 server, seeds S, S+1, … until M minutes (10 by default) or N rounds
 * have passed. The first difference stops it with the seed that reproduces it
 * (`--seed <that> --rounds 1`), and keeps its files. Ends with one summary line.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Repository } from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { requireQemu } from '@ferry/qcow2/src/testing/qemu';
import { datamoverRound, type DatamoverRoundReport } from '../src/testing/differential';
import { objectFile } from '../src/testing/objectFile';

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

function count(args: string[], name: string): number | undefined {
  const text = option(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} needs a non-negative integer, got "${text}"`);
  return value;
}

function describe(r: DatamoverRoundReport, seconds: number): string {
  const letter = (b: DatamoverRoundReport['backups'][number]) => {
    if (b.kind === 'full') return 'F';
    return b.cbt ? 'C' : 'I';
  };
  const backups = r.backups.map(b => `${(b.size / 1024 / 1024).toFixed(1)}${letter(b)}`);
  return (
    `seed ${r.seed}: clusters ${r.clusterSize / 1024}K, backups ${backups.join(' ')} MiB (F full, I incremental, C with changed ranges), ` +
    `${r.refusedResizes} resize refused, deleted #${r.deleted}, ${r.checks} checks, ${seconds.toFixed(1)} s`
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const known = new Set(['--target', '--minutes', '--rounds', '--seed', '--max-mib']);
  for (let i = 0; i < args.length; i += 2) {
    if (!known.has(args[i])) throw new Error(`unknown option "${args[i]}": use ${[...known].join(', ')}`);
  }
  const targetName = option(args, '--target') ?? 'filesystem';
  const kind = testTargetKinds().find(k => k.name === targetName);
  if (!kind) throw new Error(`--target must be filesystem or s3, got "${targetName}"`);
  const minutes = count(args, '--minutes') ?? 10;
  const rounds = count(args, '--rounds') ?? Infinity;
  const firstSeed = count(args, '--seed') ?? Date.now() % 1_000_000;
  const maxMiB = count(args, '--max-mib') ?? 48;
  requireQemu();
  await kind.setup();
  const deadline = Date.now() + minutes * 60_000;
  const started = Date.now();
  let done = 0;
  let checks = 0;
  try {
    for (let seed = firstSeed; done < rounds && Date.now() < deadline; seed++) {
      const repo = await Repository.open(await kind.make(), { create: true });
      const dir = await fs.mkdtemp(path.join(kind.scratch, `round-${seed}-`));
      const t0 = Date.now();
      try {
        const report = await datamoverRound({
          seed,
          repo,
          dir,
          storedFile: key => objectFile(repo.target, key, kind.server?.dataDir),
          maxBytes: maxMiB * 1024 * 1024,
        });
        checks += report.checks;
        done++;
        process.stdout.write(`${describe(report, (Date.now() - t0) / 1000)}\n`);
      } catch (error) {
        process.stdout.write(
          `DIFFERENCE on a ${kind.name} target: ${error instanceof Error ? error.stack : String(error)}\n${done} rounds passed before it\n`,
        );
        process.exitCode = 1;
        return;
      } finally {
        await repo.target.close();
      }
      await fs.rm(dir, { recursive: true, force: true });
    }
  } finally {
    // On a difference the scratch folder (repositories, volumes) is kept for a look.
    if (process.exitCode !== 1) await kind.teardown();
    else process.stdout.write(`files kept in ${kind.scratch}\n`);
  }
  process.stdout.write(
    `${done} rounds on a ${kind.name} target (seeds ${firstSeed}–${firstSeed + done - 1}), ${checks} checks, 0 differences, ${(
      (Date.now() - started) /
      1000
    ).toFixed(0)} s\n`,
  );
}

main().catch(error => {
  process.stderr.write(`soak: ${error instanceof Error ? error.message : error}\n`);
  process.exitCode = 1;
});
