/**
 * Benchmark of the datamover CLI (one process per step, measured with /usr/bin/time for peak
 * RSS) against qemu-img on the same volume and plain lib-storage/GetObject on the same bytes.
 * Prints a table of seconds, ratios (ferry / reference; < 1 means ferry is faster) and RSS.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '@ferry/sandbox/src/s3Server';
import { mutate, writeState0 } from './workload';

const MiB = 1024 * 1024;
const CLI = process.env.BENCH_CLI!;
const PLAIN = process.env.BENCH_PLAIN_S3!;

interface M {
  seconds: number;
  rssMiB: number;
  stdout: string;
}

async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<M> {
  const tf = path.join(os.tmpdir(), `ferry-bench-time-${process.pid}-${Math.random()}`);
  const t0 = process.hrtime.bigint();
  const stdout = await new Promise<string>((resolve, reject) => {
    const c = spawn('/usr/bin/time', ['-f', '%M', '-o', tf, cmd, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    c.stdout.on('data', d => (out += d));
    c.stderr.on('data', d => (err += d));
    c.on('close', code => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${err}\n${out.slice(-2000)}`))));
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rssMiB = Number((await fs.readFile(tf, 'utf8')).trim().split('\n').pop()) / 1024;
  await fs.rm(tf, { force: true });
  return { seconds, rssMiB, stdout };
}

const node = process.execPath;
const resultOf = (m: M) => JSON.parse(m.stdout.trim().split('\n').pop()!);

interface Row {
  what: string;
  ferry: M;
  ref: M;
  refName: string;
  bytes?: string;
}

function table(rows: Row[]): string {
  const f = (n: number) => n.toFixed(2);
  const lines = [
    '| step | ferry s | reference | ref s | ratio | ferry peak RSS MiB | ref peak RSS MiB | stored |',
    '|---|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.what} | ${f(r.ferry.seconds)} | ${r.refName} | ${f(r.ref.seconds)} | ${f(r.ferry.seconds / r.ref.seconds)} | ${r.ferry.rssMiB.toFixed(0)} | ${r.ref.rssMiB.toFixed(0)} | ${r.bytes ?? ''} |`);
  }
  return lines.join('\n');
}

async function main() {
  const sizeMiB = Number(process.env.FERRY_BENCH_SIZE_MIB ?? 1024);
  const size = sizeMiB * MiB;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-dm-bench-'));
  const s3 = await startS3Server();
  try {
    process.stderr.write(`Preparing a ${sizeMiB} MiB volume (10 % data) and 5 later states (1 % changed each)\n`);
    const states: string[] = [];
    const live = path.join(work, 'live.raw');
    await writeState0(live, size);
    for (let i = 0; i < 6; i++) {
      if (i > 0) await mutate(live, size, i);
      const s = path.join(work, `state-${i}.raw`);
      await fs.copyFile(live, s);
      states.push(s);
    }
    const creds = path.join(work, 'secret');
    await fs.mkdir(creds);
    await fs.writeFile(path.join(creds, 'accessKeyId'), s3.accessKeyId);
    await fs.writeFile(path.join(creds, 'secretAccessKey'), s3.secretAccessKey);
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    client.destroy();
    const targets: Record<string, NodeJS.ProcessEnv> = {
      filesystem: { FERRY_TARGET_TYPE: 'filesystem', FERRY_TARGET_PATH: path.join(work, 'repo') },
      s3: {
        FERRY_TARGET_TYPE: 's3',
        FERRY_S3_BUCKET: 'bench',
        FERRY_S3_PREFIX: 'repo',
        FERRY_S3_ENDPOINT: s3.endpoint,
        FERRY_S3_REGION: s3.region,
        FERRY_S3_FORCE_PATH_STYLE: 'true',
        FERRY_S3_CREDENTIALS_DIR: creds,
      },
    };
    const plainEnv = { ...targets.s3, BENCH_ACCESS_KEY_ID: s3.accessKeyId, BENCH_SECRET_ACCESS_KEY: s3.secretAccessKey };

    // qemu-img references: full = convert; incremental = overlay on the new raw state rebased
    // onto the previous image (qemu-img's own way to diff a raw state); restore = convert to raw.
    const q = path.join(work, 'qemu');
    await fs.mkdir(q);
    const qFull = await measure('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', states[0], path.join(q, 'b0.qcow2')]);
    const qInc: M[] = [];
    for (let i = 1; i < 6; i++) {
      const o = path.join(q, `b${i}.qcow2`);
      const a = await measure('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', states[i], '-F', 'raw', o]);
      const b = await measure('qemu-img', ['rebase', '-f', 'qcow2', '-b', `b${i - 1}.qcow2`, '-F', 'qcow2', o]);
      qInc.push({ seconds: a.seconds + b.seconds, rssMiB: Math.max(a.rssMiB, b.rssMiB), stdout: '' });
    }
    const qIncBytes = (await Promise.all([1, 2, 3, 4, 5].map(i => fs.stat(path.join(q, `b${i}.qcow2`))))).reduce((s, x) => s + x.size, 0);
    const out = path.join(work, 'out.raw');
    await fs.rm(out, { force: true });
    const qRestore = await measure('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path.join(q, 'b5.qcow2'), out]);

    const rows: Row[] = [];
    let fsFullImage = '';
    for (const [name, env] of Object.entries(targets)) {
      const ids: string[] = [];
      const inc: M[] = [];
      let full!: M;
      let incBytes = 0;
      let fullBytes = 0;
      for (let i = 0; i < 6; i++) {
        const id = resultOf(await measure(node, [CLI, 'backup', 'new-id'])).backupId;
        const args = [CLI, 'volume', 'backup', '--app', 'bench', '--pvc', 'vol', '--backup-id', id, '--device', states[i], '--commit'];
        if (i > 0) args.push('--parent', ids[i - 1]);
        const m = await measure(node, args, env);
        const r = resultOf(m);
        if (i === 0) {
          full = m;
          fullBytes = r.image.size;
        } else {
          inc.push(m);
          incBytes += r.image.size;
        }
        ids.push(id);
      }
      await fs.rm(out, { force: true });
      const restore = await measure(node, [CLI, 'volume', 'restore', '--app', 'bench', '--pvc', 'vol', '--backup-id', ids[5], '--device', out, '--create'], env);
      const sumInc = (ms: M[]) => ({ seconds: ms.reduce((s, m) => s + m.seconds, 0), rssMiB: Math.max(...ms.map(m => m.rssMiB)), stdout: '' });
      const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
      if (name === 'filesystem') {
        fsFullImage = path.join(work, 'repo', 'apps', 'bench', 'volumes', 'vol', `${ids[0]}.qcow2`);
        rows.push({ what: `full backup → folder`, ferry: full, ref: qFull, refName: 'qemu-img convert', bytes: mib(fullBytes) });
        rows.push({ what: `5 incrementals → folder`, ferry: sumInc(inc), ref: sumInc(qInc), refName: 'qemu-img create -b raw + rebase', bytes: `${mib(incBytes)} (qemu ${mib(qIncBytes)})` });
        rows.push({ what: `restore chain of 6 ← folder`, ferry: restore, ref: qRestore, refName: 'qemu-img convert -O raw' });
      } else {
        const up = await measure(node, [PLAIN, 'upload', fsFullImage, 'plain/full.qcow2'], plainEnv);
        const rawUp = await measure(node, [PLAIN, 'upload', states[0], 'plain/state0.raw'], plainEnv);
        const down = path.join(work, 'down.bin');
        const dl = await measure(node, [PLAIN, 'download', down, 'plain/state0.raw'], plainEnv);
        rows.push({ what: `full backup → S3`, ferry: full, ref: up, refName: 'lib-storage Upload of the same image bytes', bytes: mib(fullBytes) });
        rows.push({ what: `full backup → S3`, ferry: full, ref: rawUp, refName: 'lib-storage Upload of the raw volume', bytes: mib(size) });
        rows.push({ what: `5 incrementals → S3`, ferry: sumInc(inc), ref: sumInc(qInc), refName: 'qemu-img create -b raw + rebase (local)', bytes: mib(incBytes) });
        rows.push({ what: `restore chain of 6 ← S3`, ferry: restore, ref: dl, refName: 'GetObject of the raw volume to a file' });
      }
      const same = await fs.readFile(out).then(async b => b.equals(await fs.readFile(states[5])));
      if (!same) throw new Error(`restore from ${name} differs from state 5`);
    }
    process.stdout.write(`\nDatamover benchmark: ${sizeMiB} MiB volume, ~10 % data, 5 states with ~1 % changed; warm page cache; ${os.cpus().length} cores\n\n`);
    process.stdout.write(`${table(rows)}\n`);
  } finally {
    await s3.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch(e => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
