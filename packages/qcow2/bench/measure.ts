import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface Measurement {
  seconds: number;
  /** Peak resident set size of the process, from /usr/bin/time (%M). */
  maxRssMiB: number;
  /** CPU seconds of the process and its threads, user + system (%U + %S). */
  cpuSeconds: number;
  stdout: string;
}

/** Runs one command as its own process under /usr/bin/time; wall time, CPU time, peak RSS. */
export async function measure(options: {
  command: string;
  args: string[];
  cwd: string;
  scratch: string;
}): Promise<Measurement> {
  const timeFile = path.join(
    options.scratch,
    `time-${process.pid}-${Date.now()}.txt`,
  );
  const started = process.hrtime.bigint();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%M %U %S', '-o', timeFile, options.command, ...options.args],
      {
        cwd: options.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', chunk => (out += chunk));
    child.stderr.on('data', chunk => (err += chunk));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(
              `${options.command} ${options.args.join(
                ' ',
              )} exited ${code}: ${err}`,
            ),
          ),
    );
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const [maxRssKiB, user, system] = (await fs.readFile(timeFile, 'utf8'))
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  await fs.unlink(timeFile);
  return {
    seconds,
    maxRssMiB: maxRssKiB / 1024,
    cpuSeconds: user + system,
    stdout,
  };
}

/** Runs a command to completion (untimed helper steps). */
export async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<string> {
  return (await measure({ command, args, cwd, scratch: cwd })).stdout;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}
