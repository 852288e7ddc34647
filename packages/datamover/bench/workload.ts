import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Deterministic pseudo-random numbers (xorshift32), so runs are comparable. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Incompressible bytes from a counter-mode hash (fast enough, reproducible). */
function fill(buf: Buffer, seed: number): void {
  for (let i = 0; i < buf.length; i += 32) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(buf, i);
  }
}

/**
 * State 0: a sparse volume with ~10 % data in extents of 64 KiB..4 MiB. Later states: ~1 % of
 * the volume rewritten in scattered 4..256 KiB writes, some of them zeros (like the reference
 * figures in NOTES-toolchain.md).
 */
export async function writeState0(path: string, size: number): Promise<void> {
  const r = prng(7);
  const h = await fs.open(path, 'w');
  await h.truncate(size);
  const pool = Buffer.allocUnsafe(4 * MiB);
  fill(pool, 1);
  let written = 0;
  while (written < size * 0.1) {
    const len = Math.round(2 ** (16 + r() * 6) / 4096) * 4096;
    const off = Math.floor((r() * (size - len)) / 4096) * 4096;
    await h.write(pool, 0, len, off);
    pool.writeUInt32LE(written, 0); // extents differ from each other
    written += len;
  }
  await h.close();
}

export async function mutate(path: string, size: number, state: number): Promise<void> {
  const r = prng(1000 + state);
  const h = await fs.open(path, 'r+');
  const pool = Buffer.allocUnsafe(256 * KiB);
  fill(pool, 100 + state);
  const zeros = Buffer.alloc(256 * KiB);
  let written = 0;
  while (written < size * 0.01) {
    const len = 4096 * (1 + Math.floor(r() * 64));
    const off = Math.floor((r() * (size - len)) / 4096) * 4096;
    await h.write(r() < 0.1 ? zeros : pool, 0, len, off);
    written += len;
  }
  await h.close();
}
