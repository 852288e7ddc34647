import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Fails clearly when the oracle is missing (Debian qemu-utils, scripts/apt-packages.txt). */
export function requireQemu(): void {
  for (const tool of ['qemu-img', 'qemu-io']) {
    const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        `${tool} not found: install Debian qemu-utils (listed in scripts/apt-packages.txt)`,
      );
    }
  }
}

export async function qemuImg(
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  return run('qemu-img', args, { maxBuffer: 64 * 1024 * 1024 });
}

export async function qemuIo(
  image: string,
  commands: string[],
  options: { format?: string } = {},
): Promise<void> {
  const args = ['-f', options.format ?? 'qcow2'];
  for (const command of commands) args.push('-c', command);
  await run('qemu-io', [...args, image]);
}

/** `qemu-img check` of an image: exit code and JSON report (errors, leaks, corruptions). */
export async function qemuCheck(
  image: string,
): Promise<{ exitCode: number; report: Record<string, unknown> }> {
  try {
    const { stdout } = await run('qemu-img', ['check', '--output=json', image]);
    return { exitCode: 0, report: JSON.parse(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    let report: Record<string, unknown> = { stderr: failed.stderr };
    try {
      report = { ...JSON.parse(failed.stdout ?? ''), stderr: failed.stderr };
    } catch {
      // keep stderr only
    }
    return {
      exitCode: typeof failed.code === 'number' ? failed.code : -1,
      report,
    };
  }
}

/** True when `qemu-img compare` says the two images have identical content. */
export async function qemuIdentical(options: {
  a: string;
  aFormat: string;
  b: string;
  bFormat: string;
  strict?: boolean;
}): Promise<boolean> {
  const args = ['compare', '-f', options.aFormat, '-F', options.bFormat];
  if (options.strict) args.push('-s');
  try {
    await run('qemu-img', [...args, options.a, options.b]);
    return true;
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    if (failed.code === 1) return false;
    throw new Error(`qemu-img compare failed: ${failed.stderr}`);
  }
}
