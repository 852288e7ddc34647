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

/**
 * How qemu-img gets the passphrase of encrypted images in tests: a secret object read from a
 * file (`--object secret,id=sec0,file=…`), never the passphrase in an argument.
 */
export interface QemuSecret {
  /** File holding the passphrase. */
  file: string;
}

export function secretArgs(secret: QemuSecret): string[] {
  return ['--object', `secret,id=sec0,file=${secret.file}`];
}

/**
 * `--image-opts` of a qcow2 image whose layers are encrypted with the secret: the top and
 * `backingLayers` backing files below it get `encrypt.key-secret=sec0`.
 */
export function encryptedImageOpts(image: string, backingLayers = 0): string {
  const options = ['driver=qcow2', `file.filename=${image.replace(/,/g, ',,')}`];
  for (let depth = 0; depth <= backingLayers; depth++)
    options.push(`${'backing.'.repeat(depth)}encrypt.key-secret=sec0`);
  return options.join(',');
}

/** qemu-img arguments naming an image: `-f <format> <image>`, or image-opts with the secret. */
function imageArgs(options: {
  image: string;
  format: string;
  secret?: QemuSecret;
  backingLayers?: number;
}): string[] {
  return options.secret
    ? [encryptedImageOpts(options.image, options.backingLayers)]
    : [options.image];
}

/** Runs qemu-img, retrying when LUKS key timing fails on a busy machine ("accurate CPU usage"). */
export async function qemuImgRetrying(
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await qemuImg(args);
    } catch (error) {
      if (attempt === 5 || !/accurate CPU usage/.test(String(error)))
        throw error;
    }
  }
}

/** `qemu-img check` of an image: exit code and JSON report (errors, leaks, corruptions). */
export async function qemuCheck(
  image: string,
  options: { secret?: QemuSecret; backingLayers?: number } = {},
): Promise<{ exitCode: number; report: Record<string, unknown> }> {
  try {
    const target = options.secret
      ? [
          ...secretArgs(options.secret),
          '--image-opts',
          encryptedImageOpts(image, options.backingLayers),
        ]
      : [image];
    const { stdout } = await run('qemu-img', [
      'check',
      '--output=json',
      ...target,
    ]);
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

/**
 * True when `qemu-img compare` says the two images have identical content. With `secret`,
 * `b` is an encrypted qcow2 image (and `bBackingLayers` encrypted layers below it).
 */
export async function qemuIdentical(options: {
  a: string;
  aFormat: string;
  b: string;
  bFormat: string;
  strict?: boolean;
  secret?: QemuSecret;
  bBackingLayers?: number;
}): Promise<boolean> {
  const args = options.secret
    ? ['compare', ...secretArgs(options.secret), '--image-opts']
    : ['compare', '-f', options.aFormat, '-F', options.bFormat];
  if (options.strict) args.push('-s');
  const a = options.secret
    ? `driver=${options.aFormat},file.filename=${options.a.replace(/,/g, ',,')}`
    : options.a;
  const b = imageArgs({
    image: options.b,
    format: options.bFormat,
    secret: options.secret,
    backingLayers: options.bBackingLayers,
  });
  try {
    await run('qemu-img', [...args, a, ...b]);
    return true;
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    if (failed.code === 1) return false;
    throw new Error(`qemu-img compare failed: ${failed.stderr}`);
  }
}
