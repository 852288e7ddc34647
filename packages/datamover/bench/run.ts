/**
 * npm run bench:datamover -- [--size-gib 1] [--rounds 3] [--only folder,sparse,s3] [--big-gib 0]
 *                            [--big-rounds 1] [--dir /tmp] [--keep] [--cache warm|cold]
 * (`--cache cold`: the page cache emptied before each side instead of the inputs read into it,
 * as a Job finds a volume just provisioned from a snapshot)
 * (`--only none --big-gib 64`: only the flat-memory check on a 64 GiB sparse volume, see bigRound)
 *
 * The datamover CLI as a Job runs it (its bundle, FERRY_* environment, default I/O mode) beside
 * qemu-img and plain lib-storage/GetObject, on the same input: a loop device over each volume
 * state (both tools read a real block device, no holes to skip for either). Rows labelled
 * "sparse file" read the volume file instead (qemu-img skips its holes, the datamover does not).
 * Every step is its own process under /usr/bin/time (wall, CPU = user + system of all threads,
 * peak RSS); medians of `--rounds`. Workload: bench:qcow2's (packages/qcow2/bench/workload.ts):
 * state 0 has 10 % data in extents of 64 KiB to 4 MiB, states 1 to 5 change 1 % each in
 * scattered 4 to 256 KiB writes (1 in 10 of zeros); volumes above 4 GiB keep 4 GiB's amounts.
 * Needs root (losetup), qemu-img, /usr/bin/time, cmp, and versitygw (sandbox binaries).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '@ferry/sandbox/src/s3Server';
import { applyChanges, writeInitialState } from '@ferry/qcow2/bench/workload';
import { attachLoop, detachAll } from './devices';
import { measure, median, watchServer } from './measure';
import { bigRound, folderRound, s3Round, type Workload } from './rounds';
import { plainS3, type S3Access } from './steps';
import { formatTable } from './table';

const GiB = 1024 ** 3;
const { values } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: process.env.BENCH_SIZE_GIB ?? '1' },
    rounds: { type: 'string', default: process.env.BENCH_RUNS ?? '3' },
    only: { type: 'string', default: process.env.BENCH_ONLY ?? 'folder,sparse,s3' },
    'big-gib': { type: 'string', default: process.env.BENCH_BIG_GIB ?? '0' },
    'big-rounds': { type: 'string', default: '1' },
    dir: { type: 'string', default: process.env.FERRY_BENCH_DIR ?? os.tmpdir() },
    keep: { type: 'boolean', default: false },
    cache: { type: 'string', default: 'warm' },
  },
});
const sizeGiB = Number(values['size-gib']);
const rounds = Number(values.rounds);
const only = new Set(values.only!.split(','));
const bigGiB = Number(values['big-gib']);
if (values.cache !== 'warm' && values.cache !== 'cold') throw new Error(`--cache must be warm or cold, not ${values.cache}`);
const cache = values.cache;

async function makeWorkload(o: { dir: string; sizeGiB: number; label: string; cache: Workload['cache'] }): Promise<Workload> {
  const size = Math.round(o.sizeGiB * GiB);
  const scale = Math.min(1, (4 * GiB) / size);
  await fs.mkdir(o.dir, { recursive: true });
  process.stderr.write(`Preparing ${o.label}: state 0 and 5 later states\n`);
  const files = [...Array(6).keys()].map(i => path.join(o.dir, `state${i}.raw`));
  await writeInitialState({ path: files[0], size, dataFraction: 0.1 * scale, seed: 7 });
  for (let k = 1; k <= 5; k++) {
    execFileSync('cp', ['--sparse=always', files[k - 1], files[k]]);
    await applyChanges({ path: files[k], size, changedFraction: 0.01 * scale, seed: 100 + k });
  }
  const devices = [];
  for (const file of files) devices.push(await attachLoop(file, { readOnly: true }));
  return { label: o.label, dir: o.dir, size, files, devices, cache: o.cache };
}

async function startS3(work: string): Promise<{ s3: S3Access; stop: () => Promise<void> }> {
  const pidDir = path.join(work, 's3-pid');
  await fs.mkdir(pidDir, { recursive: true });
  const server = await startS3Server({ dataDir: path.join(work, 's3'), pidDir });
  watchServer(Number((await fs.readFile(path.join(pidDir, 'versitygw.pid'), 'utf8')).trim()) || undefined);
  const credentialsDir = path.join(work, 's3-credentials');
  await fs.mkdir(credentialsDir, { recursive: true });
  await fs.writeFile(path.join(credentialsDir, 'accessKeyId'), server.accessKeyId);
  await fs.writeFile(path.join(credentialsDir, 'secretAccessKey'), server.secretAccessKey);
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  client.destroy();
  const s3: S3Access = { ...server, bucket: 'bench', credentialsDir, dataDir: server.dataDir };
  return { s3, stop: () => server.stop() };
}

/** Runs a workload's rounds: folder (block device), sparse-file rows, S3. */
async function runWorkload(w: Workload, o: { rounds: number; s3?: S3Access; firstReads: number[]; groups: Set<string> }) {
  let rawKey: string | undefined;
  if (o.s3) {
    rawKey = 'raw/state5.raw';
    await plainS3({ s3: o.s3, op: 'upload', file: w.files[5], key: rawKey });
  }
  for (let round = 0; round < o.rounds; round++) {
    process.stderr.write(`${w.label}: round ${round + 1}/${o.rounds}\n`);
    const folder = await folderRound({ w, round, source: 'device', restore: true, firstReads: o.firstReads });
    if (o.groups.has('sparse')) await folderRound({ w, round, source: 'file', restore: false, firstReads: [] });
    if (o.s3 && rawKey) await s3Round({ w, round, s3: o.s3, folder, rawKey });
  }
}

async function startupReferences(): Promise<string> {
  const times = async (command: string, args: string[]) => {
    const ms: number[] = [];
    for (let i = 0; i < 7; i++) ms.push((await measure({ command, args })).seconds * 1000);
    return median(ms).toFixed(0);
  };
  return `node -e 0: ${await times(process.execPath, ['-e', '0'])} ms; qemu-img --version: ${await times('qemu-img', ['--version'])} ms (wall, median of 7)`;
}

async function main() {
  const work = await fs.mkdtemp(path.join(values.dir!, 'ferry-dm-bench-'));
  const load = () => os.loadavg().map(l => l.toFixed(1)).join(' ');
  const header = [
    `Datamover benchmark, ${new Date().toISOString()}, commit ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname }).toString().trim()}`,
    `${execFileSync('qemu-img', ['--version']).toString().split('\n')[0]}, node ${process.version}, ${os.availableParallelism()} CPUs, load at start ${load()}`,
    `median of ${rounds} rounds (big volume: ${values['big-rounds']}); ratio = ferry / reference (< 1: ferry faster); incremental rows are per overlay`,
  ];
  let stopS3: (() => Promise<void>) | undefined;
  const firstReads: number[] = [];
  try {
    let s3: S3Access | undefined;
    if (only.has('s3')) ({ s3, stop: stopS3 } = await startS3(work));
    if (only.has('folder') || only.has('s3') || only.has('sparse')) {
      const w = await makeWorkload({ dir: path.join(work, 'main'), sizeGiB, label: cache === 'cold' ? `${sizeGiB} GiB (cold cache)` : `${sizeGiB} GiB`, cache });
      await runWorkload(w, { rounds, s3, firstReads, groups: only });
    }
    if (bigGiB > 0) {
      const w = await makeWorkload({ dir: path.join(work, 'big'), sizeGiB: bigGiB, label: `${bigGiB} GiB sparse (cold cache)`, cache: 'as-is' });
      for (let round = 0; round < Number(values['big-rounds']); round++) await bigRound({ w });
    }
    header.push(`load at end ${load()}`);
    const startup = firstReads.length
      ? `Datamover start-up, process start → first device read (full backup → folder, timings.firstReadMs): ${median(firstReads).toFixed(0)} ms (median of ${firstReads.length}; ${Math.min(...firstReads).toFixed(0)} to ${Math.max(...firstReads).toFixed(0)}); for scale, ${await startupReferences()}`
      : '';
    process.stdout.write(`\n${header.join('\n')}\n\n${formatTable()}\n\n${startup}\n`);
  } finally {
    await stopS3?.().catch(() => undefined);
    await detachAll();
    if (!values.keep) await fs.rm(work, { recursive: true, force: true });
    else process.stderr.write(`Kept ${work}\n`);
  }
}

main().catch(e => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
