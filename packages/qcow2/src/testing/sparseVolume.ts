import { promises as fs } from 'node:fs';
import { fillRandom, randomInt } from './volumes';

/** File system block: the unit in which a file's holes exist. */
export const FS_BLOCK = 4096;

/**
 * A volume's bytes and which of its file system blocks are written (allocated) in the file
 * that holds it: unwritten blocks are holes (they read as zeros and are not stored), written
 * blocks may still hold zeros (zero bytes on disk, which only reading tells apart).
 */
export interface SparseVolume {
  bytes: Uint8Array;
  /** One entry per file system block: 1 when written. */
  written: Uint8Array;
}

function blocksOf(size: number): number {
  return Math.ceil(size / FS_BLOCK);
}

/** Marks the blocks touched by `[offset, offset + length)` as written. */
function markWritten(volume: SparseVolume, offset: number, length: number) {
  volume.written.fill(
    1,
    Math.floor(offset / FS_BLOCK),
    Math.ceil((offset + length) / FS_BLOCK),
  );
}

/** The largest writes of a state, one of which a round picks. */
const WRITE_SIZES = [4096, 65536, 1024 * 1024, 4 * 1024 * 1024];

/**
 * A random first state of at most `maxBytes` (7 times in 10 at most 8 MiB), any number of
 * 512-byte sectors: up to 40 random ranges of data or of explicit zero bytes in a volume of
 * holes, or (1 time in 4) the same with every block written, like a volume copied with
 * `cp --sparse=never`.
 */
export function randomVolume(options: {
  random: () => number;
  maxBytes: number;
}): SparseVolume {
  const { random } = options;
  const maxSectors = Math.floor(options.maxBytes / 512);
  const sectors =
    random() < 0.7
      ? randomInt(random, 1, Math.min(maxSectors, (8 * 1024 * 1024) / 512))
      : randomInt(random, 1, maxSectors);
  const size = sectors * 512;
  const extents = randomInt(random, 0, 40);
  const maxExtent = WRITE_SIZES[randomInt(random, 0, WRITE_SIZES.length - 1)];
  const dense = random() < 0.25;
  const volume: SparseVolume = {
    bytes: new Uint8Array(size),
    written: new Uint8Array(blocksOf(size)),
  };
  for (let i = 0; i < extents; i++) {
    const length = Math.min(size, randomInt(random, 1, maxExtent));
    const offset = randomInt(random, 0, size - length);
    if (random() < 0.75)
      fillRandom(random, volume.bytes.subarray(offset, offset + length));
    markWritten(volume, offset, length);
  }
  if (dense) volume.written.fill(1);
  return volume;
}

/**
 * A random size change for a volume of `size` bytes, in whole 512-byte sectors: 1 time in 10 it
 * grows by up to 8 MiB, 1 time in 20 it shrinks by up to a quarter; never past `maxBytes`,
 * never below one sector.
 */
export function randomResize(options: {
  random: () => number;
  size: number;
  maxBytes: number;
}): number {
  const { random, size } = options;
  let resize = 0;
  if (random() < 0.1)
    resize = randomInt(random, 1, (8 * 1024 * 1024) / 512) * 512;
  else if (random() < 0.05 && size > 512)
    resize = -randomInt(random, 1, Math.max(1, Math.floor(size / 2048))) * 512;
  const maxSectors = Math.floor(options.maxBytes / 512);
  return Math.max(512 - size, Math.min(resize, maxSectors * 512 - size));
}

/**
 * The next state of a volume: its size changes by `resize` bytes (whole 512-byte sectors), then
 * up to 25 random ranges get random data, explicit zeros, or are punched (their whole blocks
 * become holes again; the bytes around them in partial blocks are zeroed and stay written).
 */
export function changedVolume(options: {
  random: () => number;
  previous: SparseVolume;
  resize: number;
}): SparseVolume {
  const { random, previous } = options;
  const size = previous.bytes.length + options.resize;
  if (size <= 0 || size % 512 !== 0)
    throw new Error(`volume size ${size} is not a positive number of sectors`);
  const writes = randomInt(random, 0, 25);
  const maxWrite = WRITE_SIZES[randomInt(random, 0, WRITE_SIZES.length - 1)];
  const volume: SparseVolume = {
    bytes: new Uint8Array(size),
    written: new Uint8Array(blocksOf(size)),
  };
  volume.bytes.set(previous.bytes.subarray(0, size));
  volume.written.set(previous.written.subarray(0, volume.written.length));
  for (let i = 0; i < writes; i++) {
    const length = Math.min(size, randomInt(random, 1, maxWrite));
    const offset = randomInt(random, 0, size - length);
    const range = volume.bytes.subarray(offset, offset + length);
    const kind = random();
    if (kind < 0.6) {
      fillRandom(random, range);
      markWritten(volume, offset, length);
    } else if (kind < 0.85) {
      range.fill(0);
      markWritten(volume, offset, length);
    } else {
      range.fill(0);
      volume.written.fill(
        0,
        Math.ceil(offset / FS_BLOCK),
        Math.floor((offset + length) / FS_BLOCK),
      );
    }
  }
  return volume;
}

/** Writes a volume to a new sparse file: only its written blocks are written. */
export async function writeSparseVolume(
  path: string,
  volume: SparseVolume,
): Promise<void> {
  const handle = await fs.open(path, 'w');
  try {
    const size = volume.bytes.length;
    await handle.truncate(size);
    for (let block = 0; block < volume.written.length; ) {
      if (!volume.written[block]) {
        block++;
        continue;
      }
      let end = block;
      while (end < volume.written.length && volume.written[end]) end++;
      const from = block * FS_BLOCK;
      const to = Math.min(size, end * FS_BLOCK);
      for (let at = from; at < to; ) {
        const { bytesWritten } = await handle.write(
          volume.bytes,
          at,
          to - at,
          at,
        );
        at += bytesWritten;
      }
      block = end;
    }
  } finally {
    await handle.close();
  }
}
