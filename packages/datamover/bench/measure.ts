/** One benchmark step as its own process under /usr/bin/time: wall time, CPU time, peak RSS. */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Measurement {
  seconds: number;
  /** User + system seconds of the process and all its threads (/usr/bin/time %U + %S). */
  cpuSeconds: number;
  /** Peak resident set size (/usr/bin/time %M). */
  maxRssMiB: number;
  /** CPU seconds the S3 server spent meanwhile (only for steps that talk to it). */
  serverCpuSeconds?: number;
  stdout: string;
}

/** Where to read the S3 server's CPU time from (its pid), when the step talks to it. */
let serverPid: number | undefined;
export function watchServer(pid: number | undefined): void {
  serverPid = pid;
}

/** utime + stime of a process in seconds (from /proc; 0 when it is gone). */
async function processCpu(pid: number): Promise<number> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime, stime (14th and 15th of the whole line), in clock ticks
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export async function measure(o: {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Count the S3 server's CPU seconds too. */
  server?: boolean;
}): Promise<Measurement> {
  const timeFile = path.join(os.tmpdir(), `ferry-dm-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const serverBefore = o.server && serverPid ? await processCpu(serverPid) : undefined;
  const started = process.hrtime.bigint();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, o.command, ...o.args], {
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', d => (out += d));
    child.stderr.on('data', d => (err += d));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${o.command} ${o.args.join(' ')}: exit ${code}\n${err.slice(-3000)}\n${out.slice(-2000)}`)),
    );
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const serverAfter = serverBefore !== undefined ? await processCpu(serverPid!) : undefined;
  const [rssKiB, user, system] = (await fs.readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
  await fs.rm(timeFile, { force: true });
  return {
    seconds,
    cpuSeconds: user + system,
    maxRssMiB: rssKiB / 1024,
    serverCpuSeconds: serverBefore !== undefined ? serverAfter! - serverBefore : undefined,
    stdout,
  };
}

/** Several steps of one side counted as one (qemu-img's create + rebase). */
export function sumOf(ms: Measurement[]): Measurement {
  return {
    seconds: ms.reduce((s, m) => s + m.seconds, 0),
    cpuSeconds: ms.reduce((s, m) => s + m.cpuSeconds, 0),
    maxRssMiB: Math.max(...ms.map(m => m.maxRssMiB)),
    stdout: '',
  };
}

/** Runs an untimed helper command; returns its stdout. */
export async function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', d => (out += d));
    child.stderr.on('data', d => (err += d));
    child.on('error', reject);
    child.on('close', code =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')}: exit ${code}\n${err.slice(-3000)}`)),
    );
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
