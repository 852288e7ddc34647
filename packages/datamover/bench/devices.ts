/**
 * Real block devices for the benchmark: loop devices over the volume files (both tools read the
 * same device: no holes to skip for either), and fresh zeroed ones to restore into. Every device
 * attached here is detached by `detachAll` (also on SIGINT/SIGTERM).
 */
import { promises as fs } from 'node:fs';
import { run } from './measure';

const attached = new Set<string>();

export interface LoopDevice {
  /** `/dev/loopN`. */
  path: string;
  /** The file behind it. */
  file: string;
}

/**
 * Attaches `file` as a loop device, as the sandbox's CSI driver attaches a volume
 * (`--direct-io=on`: the device reads and writes its file with O_DIRECT, like a disk, so a volume
 * is cached once, in the device's page cache). qemu-img reads the device through that cache; the
 * datamover reads a device with O_DIRECT, i.e. from the file on disk, as a Job reads a volume just
 * provisioned from a snapshot (see rounds.ts `cache`).
 */
export async function attachLoop(file: string, o: { readOnly: boolean }): Promise<LoopDevice> {
  const args = ['--find', '--show', '--direct-io=on'];
  if (o.readOnly) args.push('--read-only');
  const path = (await run('losetup', [...args, file])).trim();
  attached.add(path);
  return { path, file };
}

export async function detachLoop(device: LoopDevice): Promise<void> {
  if (!attached.delete(device.path)) return;
  await run('losetup', ['--detach', device.path]).catch(() => undefined);
}

/** A new sparse file of `size` bytes as a loop device: reads as zeros, like a fresh volume. */
export async function freshDevice(file: string, size: number): Promise<LoopDevice> {
  await fs.rm(file, { force: true });
  const h = await fs.open(file, 'w');
  await h.truncate(size);
  await h.close();
  return attachLoop(file, { readOnly: false });
}

/** Detaches and deletes a device made by `freshDevice`. */
export async function dropDevice(device: LoopDevice): Promise<void> {
  await detachLoop(device);
  await fs.rm(device.file, { force: true });
}

export async function detachAll(): Promise<void> {
  for (const path of [...attached]) await detachLoop({ path, file: '' });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: detaching the benchmark's loop devices\n`);
    detachAll().finally(() => process.exit(130));
  });
}

/** Reads a device or file whole (into the page cache). */
export async function warm(path: string): Promise<void> {
  await run('dd', [`if=${path}`, 'of=/dev/null', 'bs=4M', 'status=none']);
}

/** Reads a sparse file's data into the page cache (GNU cp skips holes with SEEK_DATA). */
export async function warmSparse(path: string): Promise<void> {
  await run('cp', ['--sparse=always', path, '/dev/null']);
}

/** Byte-for-byte equality of the first `size` bytes of two devices or files. */
export async function sameBytes(a: string, b: string, size: number): Promise<boolean> {
  try {
    await run('cmp', ['--bytes', String(size), a, b]);
    return true;
  } catch {
    return false;
  }
}
