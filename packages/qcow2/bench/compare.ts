/** Runs ours and qemu-img side by side for one benchmark row (shared by the workloads). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Measurement, measure, run } from './measure';
import { row } from './table';

export const cli = process.env.BENCH_CLI ?? path.join(__dirname, 'cli.js');

/**
 * qemu-img's LUKS creation times its key derivation and fails now and then on a busy machine
 * ("Unable to get accurate CPU usage"): such a run is repeated (a failed run is not counted).
 */
async function measureRetrying(
  options: Parameters<typeof measure>[0],
): Promise<Measurement> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measure(options);
    } catch (error) {
      if (attempt === 5 || !/accurate CPU usage/.test(String(error))) throw error;
    }
  }
}

export async function sizeOf(file: string): Promise<number> {
  return (await fs.stat(file)).size;
}

/**
 * Runs both sides, alternating who goes first, each from the same state: dirty pages flushed and
 * the inputs read into the page cache right before it (so neither side pays for reading what the
 * other side's run or the previous round pushed out of the cache).
 */
export async function compare(options: {
  name: string;
  dir: string;
  round: number;
  /** Files both sides read (warmed before each side). */
  inputs: string[];
  ours: { args: string[]; output: string };
  theirs: Array<{ args: string[] }>;
  theirsOutput: string;
}): Promise<void> {
  const target = row(options.name);
  const oursFirst = options.round % 2 === 0;
  const prepare = async () => {
    await run('sync', [], options.dir);
    for (const input of options.inputs) await warm(options.dir, input);
  };
  const doOurs = async () => {
    await fs.rm(path.join(options.dir, options.ours.output), { force: true });
    await prepare();
    target.ours.push(
      await measure({
        command: process.execPath,
        args: [cli, ...options.ours.args],
        cwd: options.dir,
        scratch: options.dir,
      }),
    );
    target.oursBytes = await sizeOf(
      path.join(options.dir, options.ours.output),
    );
  };
  const doTheirs = async () => {
    await fs.rm(path.join(options.dir, options.theirsOutput), { force: true });
    await prepare();
    let seconds = 0;
    let maxRssMiB = 0;
    let cpuSeconds = 0;
    for (const step of options.theirs) {
      const m = await measureRetrying({
        command: 'qemu-img',
        args: step.args,
        cwd: options.dir,
        scratch: options.dir,
      });
      seconds += m.seconds;
      maxRssMiB = Math.max(maxRssMiB, m.maxRssMiB);
      cpuSeconds += m.cpuSeconds;
    }
    target.theirs.push({ seconds, maxRssMiB, cpuSeconds, stdout: '' });
    target.theirsBytes = await sizeOf(
      path.join(options.dir, options.theirsOutput),
    );
  };
  if (oursFirst) {
    await doOurs();
    await doTheirs();
  } else {
    await doTheirs();
    await doOurs();
  }
  const last = (ms: Measurement[]) => ms[ms.length - 1].seconds.toFixed(2);
  process.stderr.write(
    `  ${options.name}: ours ${last(target.ours)} s, qemu-img ${last(
      target.theirs,
    )} s${oursFirst ? ' (ours first)' : ''}\n`,
  );
}

/**
 * Reads a file's data into the page cache. GNU cp skips holes (SEEK_DATA), so a sparse 64 GiB
 * volume warms in a fraction of a second; a dense one is read whole.
 */
export async function warm(dir: string, file: string): Promise<void> {
  await run('cp', ['--sparse=always', file, '/dev/null'], dir);
}

export async function identical(
  dir: string,
  a: string,
  aFormat: string,
  b: string,
  bFormat: string,
): Promise<void> {
  await run(
    'qemu-img',
    ['compare', '-q', '-f', aFormat, '-F', bFormat, a, b],
    dir,
  );
}

