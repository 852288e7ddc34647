import { randomFillSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { fillText, prng, randomInt } from '../src/testing/volumes';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A pool of bytes that data extents are cut from: random (incompressible), or with
 * `compressible` every other 64 KiB of it text-like words instead (the pool then compresses
 * to a little over half with deflate or zstd, as a mix of text and binary data would).
 */
function randomPool(compressible = false): Buffer {
  const pool = Buffer.allocUnsafe(64 * MiB);
  randomFillSync(pool);
  if (compressible) {
    const random = prng(99);
    for (let at = 0; at < pool.length; at += 128 * KiB)
      fillText(random, pool.subarray(at, at + 64 * KiB));
  }
  return pool;
}

async function writeExtent(options: {
  file: fs.FileHandle;
  pool: Buffer;
  random: () => number;
  offset: number;
  length: number;
  zero?: boolean;
}): Promise<void> {
  const { file, pool, random } = options;
  const zeros = options.zero
    ? Buffer.alloc(Math.min(options.length, 4 * MiB))
    : undefined;
  for (let done = 0; done < options.length; ) {
    const take = Math.min(options.length - done, 4 * MiB);
    const start = randomInt(random, 0, pool.length - take);
    const chunk = zeros
      ? zeros.subarray(0, take)
      : pool.subarray(start, start + take);
    await file.write(chunk, 0, take, options.offset + done);
    done += take;
  }
}

/**
 * State 0: a sparse file of `size` bytes with ~`dataFraction` of it in extents of
 * 64 KiB..4 MiB (log-uniform, 4 KiB aligned). Returns the number of extents.
 */
export async function writeInitialState(options: {
  path: string;
  size: number;
  dataFraction: number;
  seed: number;
  /** Data that compresses (half text), for the compressed rows; random otherwise. */
  compressible?: boolean;
}): Promise<number> {
  const random = prng(options.seed);
  const pool = randomPool(options.compressible);
  const file = await fs.open(options.path, 'w');
  await file.truncate(options.size);
  const target = options.size * options.dataFraction;
  let written = 0;
  let extents = 0;
  // Spread: the disk is cut into slots, each extent lands at a random place in its own slot.
  const planned: Array<{ offset: number; length: number }> = [];
  while (written < target) {
    const length = Math.round(2 ** (16 + random() * 6) / 4096) * 4096;
    planned.push({ offset: 0, length });
    written += length;
  }
  const slot = Math.floor(options.size / planned.length / 4096) * 4096;
  for (const [i, extent] of planned.entries()) {
    const room = Math.max(0, slot - extent.length);
    extent.offset = i * slot + Math.floor((random() * room) / 4096) * 4096;
    await writeExtent({
      file,
      pool,
      random,
      offset: extent.offset,
      length: Math.min(extent.length, options.size - extent.offset),
    });
    extents++;
  }
  await file.close();
  return extents;
}

/** Next state: ~`changedFraction` of the disk rewritten by scattered 4..256 KiB writes (1 in 10 of zeros). */
export async function applyChanges(options: {
  path: string;
  size: number;
  changedFraction: number;
  seed: number;
}): Promise<number> {
  const random = prng(options.seed);
  const pool = randomPool();
  const file = await fs.open(options.path, 'r+');
  const target = options.size * options.changedFraction;
  let writes = 0;
  for (let changed = 0; changed < target; writes++) {
    const length = randomInt(random, 1, 64) * 4 * KiB;
    const offset =
      Math.floor((random() * (options.size - length)) / 4096) * 4096;
    await writeExtent({
      file,
      pool,
      random,
      offset,
      length,
      zero: random() < 0.1,
    });
    changed += length;
  }
  await file.close();
  return writes;
}
