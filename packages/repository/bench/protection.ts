/**
 * Issue 20's product path measured: full backups of the benchmark volume (4 GiB, ~10 % data in
 * ~400 extents; compressible and random variants from @ferry/qcow2's bench workload) through the
 * datamover CLI (`packages/datamover/bin/ferry-datamover`, its esbuild bundle) into a folder
 * repository: plain, `--compress deflate`, `--compress zstd`, encrypted (`--encryption-key-dir`:
 * LUKS image + sealed records, index and sums), and restores of the compressible backups. Each
 * step is its own process under /usr/bin/time (wall, CPU, peak RSS); stored bytes are the image
 * and, separately, everything else the backup wrote (record, .sums, .index).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The same volume and timing as @ferry/qcow2's benchmark (its bench folder, bundled by esbuild):
// eslint-disable-next-line @backstage/no-forbidden-package-imports
import { measure, median, type Measurement } from '@ferry/qcow2/bench/measure';
// eslint-disable-next-line @backstage/no-forbidden-package-imports
import { writeInitialState } from '@ferry/qcow2/bench/workload';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const launcher = path.resolve(__dirname, '../../../packages/datamover/bin/ferry-datamover');
const launcherFromSource = path.resolve(process.cwd(), 'packages/datamover/bin/ferry-datamover');

interface Row {
  name: string;
  runs: Measurement[];
  image: number;
  other: number;
}

async function sizeOfTree(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.set(path.relative(dir, file), (await fs.stat(file)).size);
  }
  return out;
}

async function main() {
  const runs = Number(process.env.BENCH_RUNS ?? 1);
  const size = Number(process.env.BENCH_GIB ?? 4) * GiB;
  const cli = (await fs.stat(launcher).catch(() => undefined)) ? launcher : launcherFromSource;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-protection-bench-'));
  const log = (m: string) => process.stderr.write(`[protection bench] ${m}\n`);
  try {
    log(`Workload: ${size / GiB} GiB, ~10 % data (compressible and random variants)`);
    const dataFraction = (0.1 * 4 * GiB) / size;
    await writeInitialState({ path: path.join(dir, 'random.raw'), size, dataFraction, seed: 7 });
    await writeInitialState({ path: path.join(dir, 'text.raw'), size, dataFraction, seed: 7, compressible: true });
    const keys = path.join(dir, 'keys');
    await fs.mkdir(keys);
    await fs.writeFile(path.join(keys, 'key'), randomBytes(32).toString('base64'));
    await measure({ command: cli, args: ['--help'], cwd: dir, scratch: dir }).catch(() => undefined); // bundle once
    const modes: Array<[string, string[]]> = [
      ['plain', []],
      ['compressed deflate', ['--compress', 'deflate']],
      ['compressed zstd', ['--compress', 'zstd']],
      ['encrypted (LUKS + envelope)', ['--encryption-key-dir', keys]],
    ];
    const rows: Row[] = [];
    const restoreRows: Row[] = [];
    for (const [data, volume] of [['compressible data', 'text.raw'], ['random data', 'random.raw']] as const) {
      for (const [mode, flags] of modes) {
        const row: Row = { name: `${size / GiB} GiB full backup, ${data}, ${mode}`, runs: [], image: 0, other: 0 };
        const restore: Row = { name: `${size / GiB} GiB restore, ${data}, ${mode}`, runs: [], image: 0, other: 0 };
        for (let round = 0; round < runs; round++) {
          const repo = path.join(dir, `repo-${rows.length}-${round}`);
          await fs.mkdir(repo);
          const env = ['--target-type', 'filesystem', '--target-path', repo, '--app', 'bench', '--pvc', 'data'];
          const id = JSON.parse((await measure({ command: cli, args: ['backup', 'new-id'], cwd: dir, scratch: dir })).stdout.trim().split('\n').pop()!).backupId;
          await fs.writeFile('/proc/sys/vm/drop_caches', '1').catch(() => undefined);
          await measure({ command: 'cp', args: ['--sparse=always', volume, '/dev/null'], cwd: dir, scratch: dir });
          row.runs.push(await measure({ command: cli, args: ['volume', 'backup', ...env, '--backup-id', id, '--device', volume, '--commit', ...flags], cwd: dir, scratch: dir }));
          const sizes = await sizeOfTree(repo);
          row.image = [...sizes].filter(([k]) => k.endsWith('.qcow2')).reduce((a, [, v]) => a + v, 0);
          row.other = [...sizes].filter(([k]) => k.startsWith('apps/') && !k.endsWith('.qcow2')).reduce((a, [, v]) => a + v, 0);
          if (data === 'compressible data' && mode !== 'compressed deflate') {
            const out = path.join(dir, 'restored.raw');
            await fs.rm(out, { force: true });
            restore.runs.push(await measure({ command: cli, args: ['volume', 'restore', ...env, '--backup-id', id, '--device', out, '--create', ...(flags[0] === '--encryption-key-dir' ? flags : [])], cwd: dir, scratch: dir }));
            if (round === 0) {
              const same = await measure({ command: 'cmp', args: [out, volume], cwd: dir, scratch: dir }).then(() => true, () => false);
              if (!same) throw new Error(`restore of ${mode} differs from the volume`);
            }
            await fs.rm(out, { force: true });
          }
          await fs.rm(repo, { recursive: true, force: true });
        }
        rows.push(row);
        if (restore.runs.length) restoreRows.push(restore);
        log(`${row.name}: ${median(row.runs.map(r => r.seconds)).toFixed(2)} s, image ${(row.image / MiB).toFixed(1)} MiB`);
      }
    }
    const line = (r: Row, base?: Row) => {
      const s = median(r.runs.map(m => m.seconds));
      const ratio = base ? `${(s / median(base.runs.map(m => m.seconds))).toFixed(2)}×` : '';
      return `| ${r.name} | ${s.toFixed(2)} | ${ratio} | ${median(r.runs.map(m => m.cpuSeconds)).toFixed(2)} | ${Math.round(median(r.runs.map(m => m.maxRssMiB)))} | ${r.image ? (r.image / MiB).toFixed(1) : ''} | ${r.other ? (r.other / 1024).toFixed(1) : ''} |`;
    };
    const out = [
      `Protection benchmark (datamover CLI, folder repository), node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}; median of ${runs} run(s)`,
      '| operation | s | vs plain | CPU s | peak RSS MiB | image MiB | other objects KiB |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r, i) => line(r, rows[i - (i % modes.length)])),
      ...restoreRows.map(r => line(r, restoreRows[0])),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch(e => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
