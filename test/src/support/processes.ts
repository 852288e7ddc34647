import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A child process in its own process group, so stop() ends it and everything it started. */
export interface Managed {
  name: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Ends the process group at once with SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

export async function startManaged(options: {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  logDir: string;
}): Promise<Managed> {
  await mkdir(options.logDir, { recursive: true });
  const log = createWriteStream(join(options.logDir, `${options.name}.log`));
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    // Children run as in development, not with the NODE_ENV=test of the jest process.
    env: { ...process.env, NODE_ENV: 'development', ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  return {
    name: options.name,
    process: child,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        return;
      }
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const group = -child.pid!;
      try {
        process.kill(group, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(group, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * How to run packages/backend as `backstage-cli package start` runs it (Node with Backstage's
 * source transform, `src/index`, the given config files), without the CLI's file watcher: that
 * watcher restarts the backend whenever a source file of a workspace package changes, which a
 * test must neither wait for nor depend on (a restart loses the in-memory database and every
 * sign-in).
 */
export function backendCommand(configFiles: string[]): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [
      '--enable-source-maps',
      '--require',
      require.resolve('@backstage/cli/config/nodeTransform.cjs'),
      'src/index',
      ...configFiles.flatMap(file => ['--config', file]),
    ],
  };
}

/** Polls `url` until it answers 2xx; fails with the last error after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number, managed?: Managed) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (managed && managed.process.exitCode !== null) {
      throw new Error(`${managed.name} exited with code ${managed.process.exitCode} before ${url} answered`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
      lastError = new Error(`${url} answered ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise(resolve => setTimeout(resolve, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}
