/**
 * npm run bench:qcow2 -- flush — what flushing behind the writes (FlushBehind) saves when a
 * file is written the way a restore writes it: 1 MiB blocks, each hashed (SHA-256, as the
 * datamover verifies every block) and written, then one final flush. Alternates "one flush at
 * the end" (everyBytes 0, the behaviour before FlushBehind) with the default (16 MiB), each
 * round after a `sync`. Environment: FERRY_BENCH_DIR (default the OS temp dir), BENCH_RUNS (5),
 * BENCH_FLUSH_MIB (512).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_FLUSH_BEHIND_BYTES, FlushBehind } from '../src';
import { median, run } from './measure';

const MiB = 1024 * 1024;

async function writeOnce(options: {
  file: string;
  pool: Buffer;
  mib: number;
  everyBytes: number;
}): Promise<{ total: number; finalFlush: number }> {
  const { file, pool, mib } = options;
  await fs.rm(file, { force: true });
  const handle = await fs.open(file, 'w');
  try {
    const flushes = new FlushBehind(handle, { everyBytes: options.everyBytes });
    const started = performance.now();
    const blocks = pool.length / MiB;
    for (let i = 0; i < mib; i++) {
      const block = pool.subarray((i % blocks) * MiB, ((i % blocks) + 1) * MiB);
      createHash('sha256').update(block).digest();
      await handle.write(block, 0, MiB, i * MiB);
      flushes.wrote(MiB);
    }
    const written = performance.now();
    await flushes.finish();
    const done = performance.now();
    return { total: done - started, finalFlush: done - written };
  } finally {
    await handle.close();
    await fs.rm(file, { force: true });
  }
}

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const mib = Number(process.env.BENCH_FLUSH_MIB ?? 512);
  const dir = await fs.mkdtemp(
    path.join(process.env.FERRY_BENCH_DIR ?? os.tmpdir(), 'ferry-flush-'),
  );
  const file = path.join(dir, 'written.raw');
  const pool = Buffer.allocUnsafe(64 * MiB);
  randomFillSync(pool);
  const variants = [
    { name: 'one flush at the end', everyBytes: 0 },
    {
      name: `flush behind every ${DEFAULT_FLUSH_BEHIND_BYTES / MiB} MiB`,
      everyBytes: DEFAULT_FLUSH_BEHIND_BYTES,
    },
  ];
  const results = variants.map(() => ({
    total: [] as number[],
    finalFlush: [] as number[],
  }));
  try {
    for (let round = 0; round < runs; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const v of order) {
        await run('sync', [], dir);
        const r = await writeOnce({
          file,
          pool,
          mib,
          everyBytes: variants[v].everyBytes,
        });
        results[v].total.push(r.total);
        results[v].finalFlush.push(r.finalFlush);
        process.stderr.write(
          `  ${variants[v].name}: ${r.total.toFixed(
            0,
          )} ms (final flush ${r.finalFlush.toFixed(0)} ms)\n`,
        );
      }
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  const lines = [
    `${mib} MiB written in 1 MiB blocks (SHA-256 of each), median of ${runs} runs`,
    '| variant | total ms | final flush ms |',
    '|---|---:|---:|',
    ...variants.map(
      (v, i) =>
        `| ${v.name} | ${median(results[i].total).toFixed(0)} | ${median(
          results[i].finalFlush,
        ).toFixed(0)} |`,
    ),
    `flush behind / one flush at the end: ${(
      median(results[1].total) / median(results[0].total)
    ).toFixed(2)}×`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch(error => {
  process.stderr.write(
    `${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
