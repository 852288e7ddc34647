/**
 * npm run bench:qcow2 — the standard QCOW2 workload, ours against qemu-img, side by side.
 * Environment: FERRY_BENCH_DIR (scratch parent, default the OS temp dir), BENCH_RUNS (3),
 * BENCH_SIZE_GIB (4), BENCH_BIG_GIB (64; 0 skips the large sparse volume), BENCH_BIG_RUNS (1).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Measurement, measure, median, run } from './measure';
import { formatTable, row } from './table';
import { applyChanges, writeInitialState } from './workload';

const GiB = 1024 ** 3;
const cli = process.env.BENCH_CLI ?? path.join(__dirname, 'cli.js');
const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizeGiB = Number(process.env.BENCH_SIZE_GIB ?? 4);
const bigGiB = Number(process.env.BENCH_BIG_GIB ?? 64);
const bigRuns = Number(process.env.BENCH_BIG_RUNS ?? 1);

/** Seconds of `cli.js scan` over the 4 GiB volume with zero bytes, one per round. */
const floor: number[] = [];

async function sizeOf(file: string): Promise<number> {
  return (await fs.stat(file)).size;
}

/**
 * Runs both sides, alternating who goes first, each from the same state: dirty pages flushed and
 * the inputs read into the page cache right before it (so neither side pays for reading what the
 * other side's run or the previous round pushed out of the cache).
 */
async function compare(options: {
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
      const m = await measure({
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
async function warm(dir: string, file: string): Promise<void> {
  await run('cp', ['--sparse=always', file, '/dev/null'], dir);
}

async function identical(
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

async function standardWorkload(options: {
  dir: string;
  size: number;
  label: string;
  rounds: number;
  withZeros: boolean;
}): Promise<void> {
  const { dir, size, label } = options;
  const log = (message: string) =>
    process.stderr.write(`[bench ${label}] ${message}\n`);
  log('Building workload');
  const extents = await writeInitialState({
    path: path.join(dir, 'state0.raw'),
    size,
    dataFraction: (0.1 * 4 * GiB) / size,
    seed: 7,
  });
  for (let k = 1; k <= 5; k++) {
    await run(
      'cp',
      ['--sparse=always', `state${k - 1}.raw`, `state${k}.raw`],
      dir,
    );
    await applyChanges({
      path: path.join(dir, `state${k}.raw`),
      size,
      changedFraction: (0.01 * 4 * GiB) / size,
      seed: 100 + k,
    });
  }
  if (options.withZeros) {
    await run('cp', ['--sparse=never', 'state0.raw', 'dense0.raw'], dir);
    await run('cp', ['--sparse=never', 'state1.raw', 'dense1.raw'], dir);
  }
  log(`State 0: ${extents} data extents; 5 later states`);
  for (let round = 0; round < options.rounds; round++) {
    log(`Round ${round + 1}/${options.rounds}`);
    await compare({
      name: `${label} full backup, zero regions as holes`,
      dir,
      round,
      inputs: ['state0.raw'],
      ours: { args: ['full', 'state0.raw', 'o0.qcow2'], output: 'o0.qcow2' },
      theirs: [{ args: ['convert', '-O', 'qcow2', 'state0.raw', 'q0.qcow2'] }],
      theirsOutput: 'q0.qcow2',
    });
    if (options.withZeros) {
      await compare({
        name: `${label} full backup, zero regions as zero bytes`,
        dir,
        round,
        inputs: ['dense0.raw'],
        ours: {
          args: ['full', 'dense0.raw', 'oz0.qcow2'],
          output: 'oz0.qcow2',
        },
        theirs: [
          { args: ['convert', '-O', 'qcow2', 'dense0.raw', 'qz0.qcow2'] },
        ],
        theirsOutput: 'qz0.qcow2',
      });
    }
    for (let k = 1; k <= 5; k++) {
      await compare({
        name: `${label} incremental (per overlay, 5 states), holes`,
        dir,
        round,
        inputs: [`state${k}.raw`, `o${k - 1}.qcow2`, `q${k - 1}.qcow2`],
        ours: {
          args: [
            'incremental',
            '--sync',
            `state${k}.raw`,
            `o${k - 1}.qcow2`,
            `o${k}.qcow2`,
          ],
          output: `o${k}.qcow2`,
        },
        theirs: [
          {
            args: [
              'create',
              '-q',
              '-f',
              'qcow2',
              '-b',
              `state${k}.raw`,
              '-F',
              'raw',
              `q${k}.qcow2`,
            ],
          },
          {
            args: [
              'rebase',
              '-b',
              `q${k - 1}.qcow2`,
              '-F',
              'qcow2',
              `q${k}.qcow2`,
            ],
          },
        ],
        theirsOutput: `q${k}.qcow2`,
      });
    }
    if (options.withZeros) {
      await compare({
        name: `${label} incremental, zero regions as zero bytes`,
        dir,
        round,
        inputs: ['dense1.raw', 'o0.qcow2', 'q0.qcow2'],
        ours: {
          args: [
            'incremental',
            '--sync',
            'dense1.raw',
            'o0.qcow2',
            'oz1.qcow2',
          ],
          output: 'oz1.qcow2',
        },
        theirs: [
          {
            args: [
              'create',
              '-q',
              '-f',
              'qcow2',
              '-b',
              'dense1.raw',
              '-F',
              'raw',
              'qz1.qcow2',
            ],
          },
          { args: ['rebase', '-b', 'q0.qcow2', '-F', 'qcow2', 'qz1.qcow2'] },
        ],
        theirsOutput: 'qz1.qcow2',
      });
    }
    if (options.withZeros) {
      // The floor of the zero-bytes rows: the same volume only read and zero-checked.
      await run('sync', [], dir);
      await warm(dir, 'dense1.raw');
      const scan = await measure({
        command: process.execPath,
        args: [cli, 'scan', 'dense1.raw'],
        cwd: dir,
        scratch: dir,
      });
      floor.push(scan.seconds);
      log(`  read and zero-check only: ${scan.seconds.toFixed(2)} s`);
    }
    await compare({
      name: `${label} restore of a chain of 6`,
      dir,
      round,
      inputs: [0, 1, 2, 3, 4, 5].flatMap(k => [`o${k}.qcow2`, `q${k}.qcow2`]),
      ours: {
        args: ['restore', 'o5.qcow2', 'restored-ours.raw'],
        output: 'restored-ours.raw',
      },
      theirs: [
        { args: ['convert', '-O', 'raw', 'q5.qcow2', 'restored-qemu.raw'] },
      ],
      theirsOutput: 'restored-qemu.raw',
    });
    if (round === 0) {
      log('Checking results with qemu-img (untimed)');
      for (let k = 0; k <= 5; k++) {
        await run('qemu-img', ['check', '-q', `o${k}.qcow2`], dir);
        await identical(dir, `state${k}.raw`, 'raw', `o${k}.qcow2`, 'qcow2');
      }
      await identical(dir, 'state5.raw', 'raw', 'restored-ours.raw', 'raw');
      await identical(
        dir,
        'restored-qemu.raw',
        'raw',
        'restored-ours.raw',
        'raw',
      );
    }
    // The two restored disks are the largest files (4 GiB each, written): dropping them keeps
    // the page cache from filling up, which slowed every later write of both tools (reclaim).
    for (const restored of ['restored-ours.raw', 'restored-qemu.raw'])
      await fs.rm(path.join(dir, restored), { force: true });
  }
  // Overlay sizes: all five, ours and qemu-img's.
  let ours = 0;
  let theirs = 0;
  for (let k = 1; k <= 5; k++) {
    ours += await sizeOf(path.join(dir, `o${k}.qcow2`));
    theirs += await sizeOf(path.join(dir, `q${k}.qcow2`));
  }
  const incremental = row(
    `${label} incremental (per overlay, 5 states), holes`,
  );
  incremental.oursBytes = ours / 5;
  incremental.theirsBytes = theirs / 5;
}

async function main(): Promise<void> {
  const parent = process.env.FERRY_BENCH_DIR ?? os.tmpdir();
  const root = await fs.mkdtemp(path.join(parent, 'ferry-qcow2-bench-'));
  const cleanup = () => fs.rm(root, { recursive: true, force: true });
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const qemu = await run('qemu-img', ['--version'], root).catch(() => {
      throw new Error(
        'qemu-img not found: install Debian qemu-utils (scripts/apt-packages.txt)',
      );
    });
    const standard = path.join(root, 'standard');
    await fs.mkdir(standard);
    await standardWorkload({
      dir: standard,
      size: sizeGiB * GiB,
      label: `${sizeGiB} GiB`,
      rounds: runs,
      withZeros: true,
    });
    await fs.rm(standard, { recursive: true, force: true });
    if (bigGiB > 0) {
      const big = path.join(root, 'big');
      await fs.mkdir(big);
      await standardWorkload({
        dir: big,
        size: bigGiB * GiB,
        label: `${bigGiB} GiB sparse`,
        rounds: bigRuns,
        withZeros: false,
      });
    }
    const header = [
      `QCOW2 benchmark: ${qemu.split('\n')[0]}, node ${process.version}, ${
        os.cpus().length
      } CPUs, load ${os.loadavg()[0].toFixed(1)}`,
      `median of ${runs} runs${
        bigGiB > 0 ? ` (${bigRuns} for the ${bigGiB} GiB sparse volume)` : ''
      }; incremental = seconds per overlay, qemu-img = create -b + rebase`,
      '',
    ];
    const footer =
      floor.length > 0
        ? `\nfloor: the ${sizeGiB} GiB volume with zero bytes only read and zero-checked by the scanning threads (no image): ${median(
            floor,
          ).toFixed(2)} s (median of ${floor.length})\n`
        : '';
    process.stdout.write(`${header.join('\n')}${formatTable()}\n${footer}`);
  } finally {
    await cleanup();
  }
}

main().catch(error => {
  process.stderr.write(
    `${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
