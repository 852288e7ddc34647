import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './binaries';

export type StartProcessOptions = {
  /** Short name used in log file names, pid files and error messages. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** When set, `<pidDir>/<name>.pid` holds the process group id while it runs. */
  pidDir?: string;
};

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

export type ManagedProcess = {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<ExitStatus>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
  /** The last lines of the log file, for error messages. */
  logTail(lines?: number): string;
};

const running = new Set<number>();
let exitHookInstalled = false;
let watchdog: ChildProcess | undefined;

/**
 * One watchdog process per Node process (bin/watchdog.cjs): it kills our process groups when
 * this process dies without running its exit hook (e.g. a jest worker killed with SIGKILL).
 */
function tellWatchdog(line: string) {
  if (!watchdog) {
    watchdog = spawn(process.execPath, [path.join(packageRoot, 'bin', 'watchdog.cjs')], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    watchdog.on('error', () => undefined);
    watchdog.stdin?.on('error', () => undefined);
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void })?.unref?.();
  }
  watchdog.stdin?.write(`${line}\n`);
}

/** Kills every process group this module started and that is still running (used on exit). */
export function killAllManagedProcesses(): void {
  for (const pgid of running) killGroup(pgid, 'SIGKILL');
  running.clear();
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllManagedProcesses);
}

export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True when `command` (a path, or a name looked up in PATH) is an executable file. */
export function isExecutableCommand(command: string): boolean {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '').split(':').filter(Boolean).map(dir => path.join(dir, command));
  return candidates.some(file => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * Asks the watchdog to delete a temporary folder should this process die without cleaning up
 * (`remove` = false withdraws the request once the folder was removed normally).
 */
export function deleteFolderIfKilled(folder: string, remove = true): void {
  tellWatchdog(`${remove ? 'rmdir' : 'keepdir'} ${path.resolve(folder)}`);
}

/**
 * Asks the watchdog to run a clean-up command (argv) should this process die without cleaning
 * up: after it killed the process groups, before it deletes temporary folders.
 */
export function runIfKilled(argv: string[]): void {
  tellWatchdog(`run ${JSON.stringify(argv)}`);
}

/** Starts a long-running child in its own process group, logging to a file. */
export function startProcess(options: StartProcessOptions): ManagedProcess {
  installExitHook();
  if (!isExecutableCommand(options.command)) {
    throw new Error(`could not start ${options.name}: ${options.command} is not an executable file`);
  }
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const out = fs.openSync(options.logFile, 'a');
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  const pid = child.pid;
  if (pid === undefined) {
    child.on('error', () => undefined);
    throw new Error(`could not start ${options.name} (${options.command})`);
  }
  running.add(pid);
  tellWatchdog(`add ${pid}`);
  const pidFile = options.pidDir ? path.join(options.pidDir, `${options.name}.pid`) : undefined;
  if (pidFile) {
    fs.mkdirSync(path.dirname(pidFile), { recursive: true });
    fs.writeFileSync(pidFile, `${pid}\n`);
  }
  let done = false;
  const exited = new Promise<ExitStatus>(resolve => {
    const finish = (status: ExitStatus) => {
      if (done) return;
      done = true;
      running.delete(pid);
      tellWatchdog(`remove ${pid}`);
      // Children of the group (if any) go with it.
      killGroup(pid, 'SIGKILL');
      if (pidFile) fs.rmSync(pidFile, { force: true });
      resolve(status);
    };
    child.once('exit', (code, signal) => finish({ code, signal }));
    child.once('error', error => {
      fs.appendFileSync(options.logFile, `[ferry-sandbox] could not start ${options.command}: ${error.message}\n`);
      finish({ code: null, signal: null });
    });
  });
  const logTail = (lines = 20) => {
    try {
      return fs.readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    hasExited: () => done,
    logTail,
    async stop(graceMs = 5000) {
      if (done) return exited;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };
}

/**
 * Kills the process groups named by `*.pid` files in a folder (left by a sandbox whose Node
 * process died without stopping it). Returns how many were still alive.
 */
export function killFromPidDir(pidDir: string): number {
  let killed = 0;
  if (!fs.existsSync(pidDir)) return 0;
  for (const file of fs.readdirSync(pidDir)) {
    if (!file.endsWith('.pid')) continue;
    const pid = Number(fs.readFileSync(path.join(pidDir, file), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1 && killGroup(pid, 'SIGKILL')) killed += 1;
    fs.rmSync(path.join(pidDir, file), { force: true });
  }
  return killed;
}
