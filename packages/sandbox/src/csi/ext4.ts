import { CommandError, runCommand } from './hostCommand';

// ext4 on a volume's loop device: made once, grown when the device grew (e2fsprogs).

/** The file system type on a device ('' when blkid finds none). */
export async function fsTypeOf(device: string): Promise<string> {
  try {
    const { stdout } = await runCommand('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device]);
    return stdout.trim();
  } catch (error) {
    if (error instanceof CommandError && error.exitCode === 2) return ''; // nothing found
    throw error;
  }
}

export async function makeExt4(device: string): Promise<void> {
  await runCommand('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', device]);
}

/** The size the ext4 file system on `device` spans (block count × block size, from its superblock). */
export async function ext4SizeBytes(device: string): Promise<number> {
  const { stdout } = await runCommand('dumpe2fs', ['-h', device]);
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(stdout);
    if (!match) throw new Error(`dumpe2fs -h ${device} printed no "${name}"`);
    return Number(match[1]);
  };
  return field('Block count') * field('Block size');
}

/** Grows an unmounted ext4 to its device's size (checked first, as resize2fs asks). */
export async function growExt4Offline(device: string): Promise<void> {
  try {
    await runCommand('e2fsck', ['-f', '-p', device]);
  } catch (error) {
    // 1: errors corrected; anything else is a damaged file system.
    if (!(error instanceof CommandError && error.exitCode === 1)) throw error;
  }
  await runCommand('resize2fs', [device]);
}

/** Why a mounted ext4 could not grow (no CAP_SYS_RESOURCE), or rethrows other failures. */
export class OnlineGrowthRefused extends Error {}

/**
 * Grows a mounted ext4 to its device's size. The kernel asks for CAP_SYS_RESOURCE for that
 * (EXT4_IOC_RESIZE_FS); without it (as on this project's machines) OnlineGrowthRefused is thrown.
 */
export async function growExt4Online(device: string): Promise<void> {
  try {
    await runCommand('resize2fs', [device]);
  } catch (error) {
    if (error instanceof CommandError && /Permission denied/.test(error.stderr)) {
      throw new OnlineGrowthRefused(
        `the kernel refused to grow the mounted ext4 on ${device} (online growth needs CAP_SYS_RESOURCE, ` +
          'which this process lacks); it grows when the volume is staged again',
      );
    }
    throw error;
  }
}
