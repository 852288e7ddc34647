import fs from 'node:fs';
import path from 'node:path';

/** One line of /proc/self/mountinfo. */
export type MountEntry = {
  /** Where it is mounted (absolute, unescaped). */
  mountPoint: string;
  /** The mounted file system's root within its source (`/` unless a bind mount of a sub-path). */
  root: string;
  /** `major:minor` of the file system's device. */
  device: string;
  fsType: string;
  /** e.g. `/dev/loop8`, `devtmpfs`. */
  source: string;
  /** Per-mount options (`rw`, `ro`, ...). */
  options: string[];
};

/** mountinfo escapes space, tab, newline and backslash as octal (\040 ...). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mount table of this process's mount namespace. */
export function readMountTable(): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const fields = left.split(' ');
    const tail = (right ?? '').split(' ');
    entries.push({
      device: fields[2],
      root: unescape(fields[3]),
      mountPoint: unescape(fields[4]),
      options: fields[5].split(','),
      fsType: tail[0],
      source: unescape(tail[1] ?? ''),
    });
  }
  return entries;
}

/** The mounts stacked on `target` (the last one is the visible one); empty when none. */
export function mountsAt(target: string): MountEntry[] {
  const resolved = path.resolve(target);
  return readMountTable().filter(entry => entry.mountPoint === resolved);
}

export function isMountPoint(target: string): boolean {
  return mountsAt(target).length > 0;
}
