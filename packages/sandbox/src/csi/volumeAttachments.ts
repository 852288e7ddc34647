import { DriverState } from './driverState';
import { runCommand } from './hostCommand';
import { AttachedLoop, attachLoop, findLoopFor, loopSizeBytes, refreshLoopCapacity, releaseLoop } from './loopDevices';
import { isMountPoint } from './mountTable';
import { VolumeFiles } from './volumeFiles';

/**
 * Volumes as the host sees them: a volume's file attached to a loop device (the "disk attached
 * to the node"), recorded in the driver state so stop() and a restart after a crash can undo it.
 */
export class VolumeAttachments {
  constructor(
    private readonly files: VolumeFiles,
    private readonly state: DriverState,
    private readonly log: (message: string) => void,
  ) {}

  /** The loop device holding the volume's file now, if any (the kernel is the truth). */
  attached(volumeId: string): AttachedLoop | undefined {
    const file = this.files.volumeFile(volumeId);
    const recorded = this.state.loopOf(volumeId);
    const actual = findLoopFor(file);
    if (!actual) {
      if (recorded) this.state.forgetLoop(volumeId);
      return undefined;
    }
    if (recorded?.index === actual.index) return recorded;
    const adopted: AttachedLoop = { index: actual.index, device: actual.device, file, created: false, madeNode: false };
    this.state.recordLoop(volumeId, adopted);
    return adopted;
  }

  async attach(volumeId: string): Promise<AttachedLoop> {
    const current = this.attached(volumeId);
    if (current) return current;
    const loop = await attachLoop(this.files.volumeFile(volumeId));
    this.state.recordLoop(volumeId, loop);
    this.log(`Attached volume ${volumeId} as ${loop.device}${loop.created ? ' (new loop device)' : ''}`);
    return loop;
  }

  /** Detaches the volume's loop device (and removes it when we added it). */
  async detach(volumeId: string): Promise<void> {
    const loop = this.attached(volumeId) ?? this.state.loopOf(volumeId);
    if (!loop) return;
    const done = await releaseLoop(loop);
    if (done) {
      this.state.forgetLoop(volumeId);
      this.log(`Detached volume ${volumeId} from ${loop.device}`);
    } else {
      this.log(`Volume ${volumeId}: ${loop.device} is still held open; it is released when its last user closes it`);
    }
  }

  /** After the file grew: the attached device sees the new size. Returns the device's size. */
  async refreshCapacity(volumeId: string): Promise<number | undefined> {
    const loop = this.attached(volumeId);
    if (!loop) return undefined;
    await refreshLoopCapacity(loop.device);
    return loopSizeBytes(loop.index);
  }

  /**
   * Runs `work` (a copy of the volume's file) at a point in time where everything written to
   * the volume is in the file: a mounted file system is frozen (fsfreeze flushes it and holds
   * new writes), a device in use as a block volume is flushed. Nothing to do when detached.
   */
  async withQuiesced<T>(volumeId: string, work: () => Promise<T>): Promise<T> {
    const stage = this.state.mountsOf(volumeId).find(m => m.kind === 'stage' && isMountPoint(m.path));
    const loop = this.attached(volumeId);
    if (stage && loop) {
      await runCommand('fsfreeze', ['--freeze', stage.path]);
      try {
        return await work();
      } finally {
        await runCommand('fsfreeze', ['--unfreeze', stage.path]);
      }
    }
    if (loop) await runCommand('blockdev', ['--flushbufs', loop.device]);
    return work();
  }
}
