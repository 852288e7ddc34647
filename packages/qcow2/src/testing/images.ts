import { promises as fs } from 'node:fs';
import { FileRangeSource } from '../file/FileRangeSource';
import { FileSink } from '../file/FileSink';
import { fileBackingResolver } from '../file/fileBackingResolver';
import type { ByteRange } from '../plan/segments';
import { Qcow2Chain } from '../reader/Qcow2Chain';
import { convertRawToQcow2 } from '../writer/convertRawToQcow2';
import { writeOverlayFromRaw } from '../writer/writeOverlayFromRaw';
import { builtMapping } from './mapping';

/** Writes `raw` as a base image at `image` with our writer. */
export async function writeBase(options: {
  raw: string;
  image: string;
  clusterSize?: number;
  blocking?: boolean;
  readThreads?: number;
  readAhead?: number;
  map?: boolean;
  /** Ranges of the raw file that may hold data (the rest is not read). */
  allocated?: readonly ByteRange[];
}) {
  const source = await FileRangeSource.open({ path: options.raw });
  try {
    const sink = await FileSink.create({ path: options.image, sync: false });
    return await convertRawToQcow2({
      source,
      sink,
      allocated: options.allocated,
      clusterSize: options.clusterSize,
      blocking: options.blocking,
      readThreads: options.readThreads,
      readAhead: options.readAhead,
      map: options.map,
    });
  } finally {
    await source.close();
  }
}

/** Opens a chain of files with the file resolver; close both when done. */
export async function openFileChain(
  image: string,
): Promise<{ chain: Qcow2Chain; close: () => Promise<void> }> {
  const source = await FileRangeSource.open({ path: image });
  try {
    const chain = await Qcow2Chain.open({
      source,
      name: image,
      resolveBacking: fileBackingResolver,
    });
    return {
      chain,
      close: async () => {
        await chain.close();
        await source.close();
      },
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Writes `raw` as an overlay of `previous` (backing name relative, like the repository does). */
export async function writeOverlay(options: {
  raw: string;
  previous: string;
  backingName: string;
  image: string;
  clusterSize?: number;
  blocking?: boolean;
  readThreads?: number;
  readAhead?: number;
  map?: boolean;
  /** Ranges of the raw file that may hold data (the rest is not read). */
  allocated?: readonly ByteRange[];
}) {
  const source = await FileRangeSource.open({ path: options.raw });
  const { chain, close } = await openFileChain(options.previous);
  try {
    const sink = await FileSink.create({ path: options.image, sync: false });
    return await writeOverlayFromRaw({
      source,
      allocated: options.allocated,
      previous: chain,
      sink,
      backing: { name: options.backingName, format: 'qcow2' },
      clusterSize: options.clusterSize,
      blocking: options.blocking,
      readThreads: options.readThreads,
      readAhead: options.readAhead,
      map: options.map,
    });
  } finally {
    await close();
    await source.close();
  }
}

/**
 * The I/O modes the converters are tested in. "mapped" and "read": the volume mapped with the
 * file mapping addon (the default where a thread reads the volume itself) or read.
 */
export type IoMode =
  | 'thread-pool'
  | 'blocking, mapped'
  | 'blocking, read'
  | 'blocking, read-ahead'
  | 'blocking, 2 scanning threads, mapped'
  | 'blocking, 2 scanning threads, read'
  | 'thread-pool, 2 scanning threads, mapped';
export const IO_MODES: IoMode[] = [
  'thread-pool',
  'blocking, mapped',
  'blocking, read',
  'blocking, read-ahead',
  'blocking, 2 scanning threads, mapped',
  'blocking, 2 scanning threads, read',
  'thread-pool, 2 scanning threads, mapped',
];

/**
 * The converter options of an I/O mode (0 threads: one thread even for large passes;
 * scanning threads are forced on, test volumes being small). Blocking with 2 scanning threads
 * is the calling thread and one worker; the thread pool with 2 is two workers. A mapped mode
 * fails when the addon is not built, rather than read without saying so.
 */
export function ioOptions(mode: IoMode): {
  blocking: boolean;
  readThreads?: number;
  readAhead?: number;
  map: boolean;
} {
  const map = mode.endsWith(', mapped');
  if (map) builtMapping();
  const blocking = mode.startsWith('blocking');
  if (mode.includes('2 scanning threads'))
    return { blocking, readThreads: 2, map };
  if (mode === 'thread-pool') return { blocking, map };
  if (mode === 'blocking, read-ahead') return { blocking, readThreads: 0, map };
  return { blocking, readThreads: 0, readAhead: 0, map };
}

export async function readAll(path: string): Promise<Uint8Array> {
  return new Uint8Array(await fs.readFile(path));
}
