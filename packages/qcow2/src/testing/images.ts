import { promises as fs } from 'node:fs';
import { FileRangeSource } from '../file/FileRangeSource';
import { FileSink } from '../file/FileSink';
import { fileBackingResolver } from '../file/fileBackingResolver';
import type { ByteRange } from '../plan/segments';
import { Qcow2Chain, type ChainPassphrase } from '../reader/Qcow2Chain';
import type { CompressionOptions } from '../compress/clusterCodec';
import type { Passphrase } from '../luks/LuksKey';
import { convertRawToQcow2 } from '../writer/convertRawToQcow2';
import type { EncryptionOptions } from '../writer/Qcow2Writer';
import { writeOverlayFromRaw } from '../writer/writeOverlayFromRaw';

/** Writes `raw` as a base image at `image` with our writer. */
export async function writeBase(options: {
  raw: string;
  image: string;
  clusterSize?: number;
  blocking?: boolean;
  readThreads?: number;
  readAhead?: number;
  /** Ranges of the raw file that may hold data (the rest is not read). */
  allocated?: readonly ByteRange[];
  compression?: CompressionOptions;
  encryption?: EncryptionOptions;
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
      compression: options.compression,
      encryption: options.encryption,
    });
  } finally {
    await source.close();
  }
}

/** Opens a chain of files with the file resolver; close both when done. */
export async function openFileChain(
  image: string,
  options: { passphrase?: ChainPassphrase } = {},
): Promise<{ chain: Qcow2Chain; close: () => Promise<void> }> {
  const source = await FileRangeSource.open({ path: image });
  try {
    const chain = await Qcow2Chain.open({
      source,
      name: image,
      resolveBacking: fileBackingResolver,
      passphrase: options.passphrase,
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
  /** Ranges of the raw file that may hold data (the rest is not read). */
  allocated?: readonly ByteRange[];
  compression?: CompressionOptions;
  /** `previous-key`: the previous image's LUKS header and key (see the writer's `encryption.key`). */
  encryption?: EncryptionOptions | 'previous-key';
  /** Opens the previous chain when it is encrypted. */
  passphrase?: Passphrase;
}) {
  const source = await FileRangeSource.open({ path: options.raw });
  const { chain, close } = await openFileChain(options.previous, {
    passphrase: options.passphrase,
  });
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
      compression: options.compression,
      encryption:
        options.encryption === 'previous-key'
          ? { format: 'luks', key: chain.top.luksKey! }
          : options.encryption,
    });
  } finally {
    await close();
    await source.close();
  }
}

/** The I/O modes the converters are tested in. */
export type IoMode =
  | 'thread-pool'
  | 'blocking'
  | 'blocking, read-ahead'
  | 'blocking, 2 scanning threads'
  | 'thread-pool, 2 scanning threads';
export const IO_MODES: IoMode[] = [
  'thread-pool',
  'blocking',
  'blocking, read-ahead',
  'blocking, 2 scanning threads',
  'thread-pool, 2 scanning threads',
];

/**
 * The converter options of an I/O mode (0 threads: one thread even for large passes;
 * scanning threads are forced on, test volumes being small). Blocking with 2 scanning threads
 * is the calling thread and one worker; the thread pool with 2 is two workers.
 */
export function ioOptions(mode: IoMode): {
  blocking: boolean;
  readThreads?: number;
  readAhead?: number;
} {
  if (mode === 'thread-pool') return { blocking: false };
  if (mode === 'blocking')
    return { blocking: true, readThreads: 0, readAhead: 0 };
  if (mode === 'blocking, read-ahead')
    return { blocking: true, readThreads: 0 };
  if (mode === 'thread-pool, 2 scanning threads')
    return { blocking: false, readThreads: 2 };
  return { blocking: true, readThreads: 2 };
}

export async function readAll(path: string): Promise<Uint8Array> {
  return new Uint8Array(await fs.readFile(path));
}
