import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { fillRandom, prng } from '../testing/volumes';
import { Qcow2Error } from '../format/errors';
import { ParallelFileReader } from './ParallelFileReader';

const KiB = 1024;

describe('ParallelFileReader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('parallel');
  });
  afterAll(() => removeDir(dir));

  async function fixture(bytes: Uint8Array) {
    const file = path.join(dir, `f-${bytes.length}.raw`);
    await fs.writeFile(file, bytes);
    return fs.open(file, 'r');
  }

  it('hands back every segment in order with its zero clusters, from several threads', async () => {
    // 1 MiB + 3 KiB: zero and data clusters, and a partial last cluster holding data.
    const bytes = new Uint8Array(1024 * KiB + 3 * KiB);
    const random = prng(5);
    fillRandom(random, bytes.subarray(64 * KiB, 64 * KiB + 10));
    fillRandom(random, bytes.subarray(300 * KiB, 420 * KiB));
    bytes[1024 * KiB + 3 * KiB - 1] = 1;
    const handle = await fixture(bytes);
    const chunkBytes = 128 * KiB;
    const clusterSize = 16 * KiB;
    const pairs: number[] = [];
    for (let at = 0; at < bytes.length; at += chunkBytes)
      pairs.push(at, Math.min(chunkBytes, bytes.length - at));
    const reader = new ParallelFileReader({
      fd: handle.fd,
      segments: Float64Array.from(pairs),
      chunkBytes,
      clusterSize,
      threads: 3,
      slots: 2,
    });
    try {
      for (let i = 0; i < pairs.length / 2; i++) {
        const chunk = reader.next()!;
        expect(chunk.offset).toBe(pairs[2 * i]);
        const expected = bytes.subarray(
          pairs[2 * i],
          pairs[2 * i] + pairs[2 * i + 1],
        );
        expect(Buffer.from(chunk.bytes).equals(Buffer.from(expected))).toBe(
          true,
        );
        for (let c = 0; c * clusterSize < expected.length; c++) {
          const cluster = expected.subarray(
            c * clusterSize,
            (c + 1) * clusterSize,
          );
          expect(chunk.isZeroCluster(c)).toBe(cluster.every(b => b === 0));
        }
      }
      expect(reader.next()).toBeUndefined();
    } finally {
      await reader.close();
      await handle.close();
    }
  });

  it('reports a read past the end of the file as an error, and stops early on close', async () => {
    const handle = await fixture(new Uint8Array(64 * KiB));
    const reader = new ParallelFileReader({
      fd: handle.fd,
      segments: Float64Array.from([0, 64 * KiB, 64 * KiB, 64 * KiB]),
      chunkBytes: 64 * KiB,
      clusterSize: 64 * KiB,
      threads: 2,
    });
    try {
      expect(reader.next()!.offset).toBe(0);
      expect(() => reader.next()).toThrow(Qcow2Error);
    } finally {
      await reader.close();
    }
    const early = new ParallelFileReader({
      fd: handle.fd,
      segments: Float64Array.from([0, 4 * KiB, 0, 4 * KiB, 0, 4 * KiB]),
      chunkBytes: 4 * KiB,
      clusterSize: 4 * KiB,
      threads: 1,
      slots: 1,
    });
    expect(early.next()!.bytes.length).toBe(4 * KiB);
    await early.close(); // the thread waits for the slot: close must still end it
    await handle.close();
  });
});
