import fs from 'node:fs';
import path from 'node:path';
import { AttachedLoop, releaseLoop } from './loopDevices';
import { runCommand } from './hostCommand';
import { isMountPoint } from './mountTable';

export type MountRecord = {
  path: string;
  volumeId: string;
  /** `stage`: the file system at the staging path; `publish`: a bind mount at a target path. */
  kind: 'stage' | 'publish';
  /** The access mode the volume was published with (for single-writer checks). */
  accessMode?: string;
};

type StateData = { loops: Record<string, AttachedLoop>; mounts: MountRecord[] };

/**
 * What the driver did to the host, written to a JSON file at every change: the loop devices it
 * attached (per volume) and the mounts it made. `releaseRecordedState` undoes it all, at stop()
 * and at the next start after a crash.
 */
export class DriverState {
  private data: StateData;

  constructor(readonly file: string) {
    this.data = readState(file);
  }

  loopOf(volumeId: string): AttachedLoop | undefined {
    return this.data.loops[volumeId];
  }

  recordLoop(volumeId: string, loop: AttachedLoop) {
    const previous = this.data.loops[volumeId];
    // Re-attaching a device we created keeps the duty to remove it.
    this.data.loops[volumeId] =
      previous?.index === loop.index
        ? { ...loop, created: previous.created || loop.created, madeNode: previous.madeNode || loop.madeNode }
        : loop;
    this.save();
  }

  forgetLoop(volumeId: string) {
    delete this.data.loops[volumeId];
    this.save();
  }

  mountsOf(volumeId: string): MountRecord[] {
    return this.data.mounts.filter(m => m.volumeId === volumeId);
  }

  recordMount(record: MountRecord) {
    const resolved = { ...record, path: path.resolve(record.path) };
    this.data.mounts = [...this.data.mounts.filter(m => m.path !== resolved.path), resolved];
    this.save();
  }

  forgetMount(mountPath: string) {
    this.data.mounts = this.data.mounts.filter(m => m.path !== path.resolve(mountPath));
    this.save();
  }

  private save() {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(this.data, null, 2)}\n`);
    fs.renameSync(temporary, this.file);
  }
}

function readState(file: string): StateData {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StateData>;
    return { loops: parsed.loops ?? {}, mounts: parsed.mounts ?? [] };
  } catch {
    return { loops: {}, mounts: [] };
  }
}

/**
 * Unmounts every recorded mount (bind mounts first, then staging mounts) and releases every
 * recorded loop device (detached; removed when we added it). What cannot be undone yet (a
 * device still held open) stays in the file for the next attempt. Returns what was left.
 */
export async function releaseRecordedState(file: string, log: (message: string) => void): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  const data = readState(file);
  const left: StateData = { loops: {}, mounts: [] };
  const ordered = [...data.mounts.filter(m => m.kind === 'publish'), ...data.mounts.filter(m => m.kind === 'stage')];
  for (const mount of ordered) {
    if (!isMountPoint(mount.path)) continue;
    try {
      try {
        await runCommand('umount', [mount.path]);
      } catch {
        // In use here (a process has files open on it): detach it now, the kernel finishes later.
        await runCommand('umount', ['--lazy', mount.path]);
      }
      log(`Unmounted ${mount.path} (volume ${mount.volumeId})`);
    } catch (error) {
      log(`Could not unmount ${mount.path}: ${String(error)}`);
      left.mounts.push(mount);
    }
  }
  for (const [volumeId, loop] of Object.entries(data.loops)) {
    try {
      if (await releaseLoop(loop)) log(`Released ${loop.device} (volume ${volumeId})`);
      else left.loops[volumeId] = loop;
    } catch (error) {
      log(`Could not release ${loop.device}: ${String(error)}`);
      left.loops[volumeId] = loop;
    }
  }
  const remaining = left.mounts.length + Object.keys(left.loops).length;
  if (remaining === 0) fs.rmSync(file, { force: true });
  else fs.writeFileSync(file, `${JSON.stringify(left, null, 2)}\n`);
  return remaining;
}
