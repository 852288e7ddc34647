/**
 * npm run soak:datamover -- [--target filesystem|s3] [--minutes M] [--rounds N] [--seed S] [--max-mib X]
 *
 * Differential soak of the datamover's volume path (src/testing/differential.ts): seeded random
 * rounds of backups, restores and a delete through a real repository on a temp folder (default)
 * or on the sandbox's S3 server, seeds S, S+1, … until M minutes (10 by default) or N rounds
 * have passed. The first difference stops it with the seed that reproduces it
 * (`--seed <that> --rounds 1`) and keeps its scratch folder. Ends with one summary line.
 */
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { requireQemu } from '@ferry/qcow2/src/testing/qemu';
import { parseSoakArgs, soakLoop } from '@ferry/qcow2/src/testing/soakLoop';
import { datamoverRoundOn, type DatamoverRoundReport } from '../src/testing/differential';

function describe(r: DatamoverRoundReport): string {
  const letter = (b: DatamoverRoundReport['backups'][number]) => {
    if (b.kind === 'full') return 'F';
    return b.cbt ? 'C' : 'I';
  };
  const backups = r.backups.map(b => `${(b.size / 1024 / 1024).toFixed(1)}${letter(b)}`);
  return (
    `seed ${r.seed}: clusters ${r.clusterSize / 1024}K, backups ${backups.join(' ')} MiB (F full, I incremental, C with changed ranges), ` +
    `${r.refusedResizes} resize refused, deleted #${r.deleted}, ${r.checks} checks`
  );
}

async function main(): Promise<void> {
  const soak = parseSoakArgs(process.argv.slice(2), { maxMiB: 48, extra: ['--target'] });
  const targetName = soak.extra['--target'] ?? 'filesystem';
  const kind = testTargetKinds().find(k => k.name === targetName);
  if (!kind) throw new Error(`--target must be filesystem or s3, got "${targetName}"`);
  requireQemu();
  await kind.setup();
  const passed = await soakLoop({
    soak,
    on: `a ${kind.name} target`,
    round: async seed => {
      const report = await datamoverRoundOn(kind, { seed, maxBytes: soak.maxMiB * 1024 * 1024 });
      return { checks: report.checks, line: describe(report) };
    },
  });
  if (passed) {
    await kind.teardown();
  } else {
    // The scratch folder stays for a look: the volumes, and the repository of a folder target
    // (an S3 server removes its data when it stops).
    await kind.server?.stop();
    process.stdout.write(`files kept in ${kind.scratch}\n`);
    process.exitCode = 1;
  }
}

main().catch(error => {
  process.stderr.write(`soak: ${error instanceof Error ? error.message : error}\n`);
  process.exitCode = 1;
});
