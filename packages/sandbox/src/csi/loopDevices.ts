import fs from 'node:fs';
import path from 'node:path';
import { CommandError, runCommand } from './hostCommand';

// ioctl numbers of /dev/loop-control (linux/loop.h).
const LOOP_CTL_ADD = 0x4c80;
const LOOP_CTL_REMOVE = 0x4c81;

export type LoopDevice = {
  index: number;
  /** `/dev/loopN`. */
  device: string;
  /** The attached file, undefined when the device is free. */
  backingFile?: string;
};

export type AttachedLoop = {
  index: number;
  device: string;
  file: string;
  /** True when we added the device through /dev/loop-control (so it is removed on detach). */
  created: boolean;
  /** True when we made its /dev node with mknod (no devtmpfs/udev made it). */
  madeNode: boolean;
};

const sysBlock = '/sys/block';

/** The loop devices the kernel has, with what is attached to each. */
export function listLoopDevices(): LoopDevice[] {
  const devices: LoopDevice[] = [];
  for (const name of fs.existsSync(sysBlock) ? fs.readdirSync(sysBlock) : []) {
    const match = /^loop(\d+)$/.exec(name);
    if (!match) continue;
    let backingFile: string | undefined;
    try {
      backingFile = fs.readFileSync(path.join(sysBlock, name, 'loop', 'backing_file'), 'utf8').trim();
    } catch {
      backingFile = undefined; // no loop/ folder: nothing attached
    }
    devices.push({ index: Number(match[1]), device: `/dev/${name}`, backingFile });
  }
  return devices.sort((a, b) => a.index - b.index);
}

/** The loop device a file is attached to, if any. */
export function findLoopFor(file: string): LoopDevice | undefined {
  const wanted = new Set([path.resolve(file)]);
  try {
    wanted.add(fs.realpathSync(file));
  } catch {
    // a deleted file can still be attached; the kernel then appends " (deleted)"
  }
  return listLoopDevices().find(d => d.backingFile !== undefined && wanted.has(d.backingFile));
}

/** Size in bytes the kernel sees for a block device (from sysfs). */
export function loopSizeBytes(index: number): number {
  return Number(fs.readFileSync(path.join(sysBlock, `loop${index}`, 'size'), 'utf8').trim()) * 512;
}

/** An ioctl on /dev/loop-control; Node has no ioctl, Perl (perl-base, always on Debian) has. */
async function loopControl(request: number, index: number): Promise<void> {
  const script =
    'sysopen(my $f, "/dev/loop-control", 2) or die "cannot open /dev/loop-control: $!\\n";' +
    'defined(ioctl($f, $ARGV[0] + 0, $ARGV[1] + 0)) or die "$!\\n";';
  await runCommand('perl', ['-e', script, String(request), String(index)]);
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Waits for /dev/loopN to appear (devtmpfs or udev make it); makes it with mknod otherwise. */
async function ensureDeviceNode(index: number): Promise<boolean> {
  const node = `/dev/loop${index}`;
  for (let i = 0; i < 20; i++) {
    if (fs.existsSync(node)) return false;
    await sleep(25);
  }
  const [major, minor] = fs.readFileSync(path.join(sysBlock, `loop${index}`, 'dev'), 'utf8').trim().split(':');
  await runCommand('mknod', ['-m', '0660', node, 'b', major, minor]);
  return true;
}

function isBusy(error: unknown): boolean {
  return error instanceof CommandError && /busy/i.test(error.stderr);
}

/**
 * `losetup` arguments attaching `file` to `device`. `--direct-io=on`: the device reads and
 * writes its file with O_DIRECT, as a disk does (nothing of the volume in the host's page cache
 * twice). Through the page cache instead, each read of a hole allocated a zeroed page for the
 * file and one for the device: a 4 GiB volume with 10 % data took 5.6-10.6 s to read cold with
 * dd, 1.4-2.8 s with O_DIRECT on the device, and 0.6-0.7 s with both (packages/sandbox README,
 * "How fast a volume reads").
 */
const losetupArgs = (device: string, file: string) => ['--direct-io=on', device, file];

/**
 * Attaches a file to a loop device: a free existing device when there is one, else a new device
 * added through /dev/loop-control (the kernel here pre-creates only loop0-7). Idempotent: a file
 * already attached keeps its device (`created` false then: the caller's records say who made it).
 */
export async function attachLoop(file: string): Promise<AttachedLoop> {
  const existing = findLoopFor(file);
  if (existing) return { index: existing.index, device: existing.device, file, created: false, madeNode: false };
  for (const candidate of listLoopDevices()) {
    if (candidate.backingFile !== undefined || !fs.existsSync(candidate.device)) continue;
    try {
      await runCommand('losetup', losetupArgs(candidate.device, file));
      return { index: candidate.index, device: candidate.device, file, created: false, madeNode: false };
    } catch (error) {
      if (!isBusy(error)) throw error; // taken by someone else meanwhile: try the next one
    }
  }
  if (!fs.existsSync('/dev/loop-control')) {
    throw new Error('no free loop device and no /dev/loop-control: this kernel has no loop device support');
  }
  for (let attempt = 0; attempt < 16; attempt++) {
    const used = new Set(listLoopDevices().map(d => d.index));
    let index = 0;
    while (used.has(index)) index++;
    try {
      await loopControl(LOOP_CTL_ADD, index);
    } catch (error) {
      if (error instanceof CommandError && /exists/i.test(error.stderr)) continue;
      throw new Error(`could not add loop device ${index} through /dev/loop-control: ${String(error)}`);
    }
    const madeNode = await ensureDeviceNode(index);
    const device = `/dev/loop${index}`;
    try {
      await runCommand('losetup', losetupArgs(device, file));
      return { index, device, file, created: true, madeNode };
    } catch (error) {
      await removeLoopDevice({ index, device, madeNode }).catch(() => undefined);
      if (!isBusy(error)) throw error;
    }
  }
  throw new Error(`could not attach ${file} to a loop device: every attempt found the device taken`);
}

/** Makes the loop device see its file's new size (after the file grew). */
export async function refreshLoopCapacity(device: string): Promise<void> {
  await runCommand('losetup', ['--set-capacity', device]);
}

/**
 * Loop devices attached to the device node `device` itself (`losetup --associated` compares the
 * backing file's device and inode). The kubelet makes one for every Block volume it maps into a
 * pod, as a lock against the device's removal, and detaches it when it unmaps the volume; a kubelet
 * stopped or killed with the pod still there leaves it, and it holds our device open.
 */
export async function loopsAttachedTo(device: string): Promise<string[]> {
  const { stdout } = await runCommand('losetup', ['--associated', device]);
  return stdout
    .split('\n')
    .map(line => line.slice(0, line.indexOf(':')))
    .filter(name => /^\/dev\/loop\d+$/.test(name) && name !== device);
}

/**
 * Detaches `loop` if it still holds `loop.file` (first any loop device a kubelet left attached to
 * it, see loopsAttachedTo), then removes the device when we created it. Resolves true when
 * nothing of it is left, false when the kernel still holds it open (retried later).
 */
export async function releaseLoop(loop: AttachedLoop): Promise<boolean> {
  const current = listLoopDevices().find(d => d.index === loop.index);
  if (current?.backingFile !== undefined) {
    const attached = findLoopFor(loop.file);
    if (attached?.index !== loop.index) return true; // someone else's file now: not ours to touch
    for (const lock of await loopsAttachedTo(loop.device)) {
      try {
        await runCommand('losetup', ['--detach', lock]);
      } catch (error) {
        if (!isBusy(error)) throw error;
      }
    }
    try {
      await runCommand('losetup', ['--detach', loop.device]);
    } catch (error) {
      if (!isBusy(error)) throw error;
      return false;
    }
  }
  if (!loop.created || !current) return true;
  return removeLoopDevice(loop);
}

/** LOOP_CTL_REMOVE for a device we added (retried while the kernel still releases it). */
async function removeLoopDevice(loop: { index: number; device: string; madeNode: boolean }): Promise<boolean> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const current = listLoopDevices().find(d => d.index === loop.index);
    if (!current) break;
    if (current.backingFile !== undefined) return false; // re-used meanwhile
    try {
      await loopControl(LOOP_CTL_REMOVE, loop.index);
      break;
    } catch (error) {
      if (!(error instanceof CommandError && /busy/i.test(error.stderr))) throw error;
      await sleep(50);
    }
  }
  if (listLoopDevices().some(d => d.index === loop.index)) return false;
  if (loop.madeNode) fs.rmSync(loop.device, { force: true });
  return true;
}
