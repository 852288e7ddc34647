/**
 * npm run bench:qcow2 — the standard QCOW2 workload, ours against qemu-img, side by side.
 * Environment: FERRY_BENCH_DIR (scratch parent, default the OS temp dir), BENCH_RUNS (3),
 * BENCH_SIZE_GIB (4), BENCH_BIG_GIB (64; 0 skips the large sparse volume), BENCH_BIG_RUNS (1),
 * BENCH_PROTECTION (0 skips the compressed and encrypted rows, bench/protection.ts),
 * BENCH_ONLY=protection (only those rows).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli, compare, identical, sizeOf, warm } from './compare';
import { measure, median, run } from './measure';
import { protectionWorkload } from './protection';
import { formatTable, row } from './table';
import { applyChanges, writeInitialState } from './workload';

const GiB = 1024 ** 3;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizeGiB = Number(process.env.BENCH_SIZE_GIB ?? 4);
const bigGiB = Number(process.env.BENCH_BIG_GIB ?? 64);
const bigRuns = Number(process.env.BENCH_BIG_RUNS ?? 1);
/** BENCH_PROTECTION=0 skips the compressed and encrypted rows. */
const protection = process.env.BENCH_PROTECTION !== '0';
/** BENCH_ONLY=protection runs only the compressed and encrypted rows. */
const only = process.env.BENCH_ONLY;

/** Seconds of `cli.js scan` over the 4 GiB volume with zero bytes, one per round. */
const floor: number[] = [];

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
    if (only !== 'protection') {
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
    }
    if (protection) {
      const protectedDir = path.join(root, 'protection');
      await fs.mkdir(protectedDir);
      await protectionWorkload({
        dir: protectedDir,
        size: sizeGiB * GiB,
        label: `${sizeGiB} GiB`,
        rounds: runs,
      });
      await fs.rm(protectedDir, { recursive: true, force: true });
    }
    if (bigGiB > 0 && only !== 'protection') {
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
