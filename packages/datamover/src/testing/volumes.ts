import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';

/**
 * Test volumes: sparse files with scattered data extents, and a mutator that changes a few
 * clusters (new data, zeroed ranges) like a running workload would.
 */
export async function makeVolume(path: string, size: number, seed: { extents: number; maxExtent: number }) {
  const h = await fs.open(path, 'w');
  try {
    await h.truncate(size);
    for (let i = 0; i < seed.extents; i++) {
      const len = 4096 * (1 + Math.floor(Math.random() * (seed.maxExtent / 4096)));
      const off = 4096 * Math.floor(Math.random() * ((size - len) / 4096));
      await h.write(randomBytes(len), 0, len, off);
    }
  } finally {
    await h.close();
  }
}

/** Writes `writes` random 4..64 KiB pieces and zeroes one range; returns the bytes touched. */
export async function mutateVolume(path: string, o: { writes: number; zeroBytes?: number }): Promise<number> {
  return (await mutateVolumeRanges(path, o)).reduce((s, r) => s + r.length, 0);
}

/** Like mutateVolume; returns the written ranges (what CBT would report). */
export async function mutateVolumeRanges(
  path: string,
  o: { writes: number; zeroBytes?: number },
): Promise<Array<{ offset: number; length: number }>> {
  const h = await fs.open(path, 'r+');
  const ranges: Array<{ offset: number; length: number }> = [];
  try {
    const size = (await h.stat()).size;
    for (let i = 0; i < o.writes; i++) {
      const len = 4096 * (1 + Math.floor(Math.random() * 16));
      const off = 4096 * Math.floor(Math.random() * ((size - len) / 4096));
      await h.write(randomBytes(len), 0, len, off);
      ranges.push({ offset: off, length: len });
    }
    if (o.zeroBytes) {
      const off = 65536 * Math.floor(Math.random() * ((size - o.zeroBytes) / 65536));
      await h.write(Buffer.alloc(o.zeroBytes), 0, o.zeroBytes, off);
      ranges.push({ offset: off, length: o.zeroBytes });
    }
  } finally {
    await h.close();
  }
  return ranges;
}

export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([fs.readFile(a), fs.readFile(b)]);
  return x.equals(y);
}
