import { execFile } from 'node:child_process';

export type CommandResult = { stdout: string; stderr: string };

/** An external command that ended with a non-zero status (its stderr is in the message). */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim() || '(no output)'}`);
    this.name = 'CommandError';
  }
}

/**
 * Runs a host tool (losetup, mount, mkfs.ext4, ...) without a shell; rejects with a CommandError
 * naming the command line and its stderr, or saying that the tool is not installed.
 */
export function runCommand(command: string, args: string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const line = [command, ...args].join(' ');
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${command} is not installed (needed for: ${line})`));
          return;
        }
        const exitCode = typeof error.code === 'number' ? error.code : null;
        reject(new CommandError(line, exitCode, String(stderr || error.message)));
      },
    );
  });
}
