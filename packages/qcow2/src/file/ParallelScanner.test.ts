import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { fillRandom, prng } from '../testing/volumes';
import { Qcow2Error } from '../format/errors';
import {
  CHECK,
  KEEP,
  MARK_ZERO,
  ParallelScanner,
  PREVIOUS_MIXED,
  STORE,
} from './ParallelScanner';

const KiB = 1024;

/** The next window fails: a previous cluster at `host` lies past the end of its file. */
async function expectCorruptAt(scanner: ParallelScanner, host: number) {
  const failure = await scanner.take().catch(error => error);
  expect(failure).toBeInstanceOf(Qcow2Error);
  expect(failure.kind).toBe('corrupt');
  expect(failure.message).toContain(`host offset ${host}`);
}

describe('ParallelScanner', () => {
  let dir: string;
  let count = 0;
  beforeAll(async () => {
    dir = await makeTempDir('scanner');
  });
  afterAll(() => removeDir(dir));

  async function fixture(bytes: Uint8Array) {
    const file = path.join(dir, `f-${count++}.raw`);
    await fs.writeFile(file, bytes);
    return fs.open(file, 'r');
  }

  it.each([
    { workers: 3, slots: 6 },
    { workers: 1, callerScans: true, slots: 6 },
    { workers: 0, callerScans: true, slots: 6 },
  ])('codes every cluster of every window, in order (%o)', async threads => {
    // 1 MiB + 3 KiB: zero and data clusters, and a partial last cluster holding data.
    const bytes = new Uint8Array(1024 * KiB + 3 * KiB);
    const random = prng(5);
    fillRandom(random, bytes.subarray(64 * KiB, 64 * KiB + 10));
    fillRandom(random, bytes.subarray(300 * KiB, 420 * KiB));
    bytes[bytes.length - 1] = 1;
    const handle = await fixture(bytes);
    const windowBytes = 128 * KiB;
    const clusterSize = 16 * KiB;
    const scanner = new ParallelScanner({
      fd: handle.fd,
      layers: [],
      clusterSize,
      windowBytes,
      ...threads,
      readBytes: 32 * KiB,
    });
    expect(scanner.inFlightLimit).toBe(6);
    const windows: number[] = [];
    for (let at = 0; at < bytes.length; at += windowBytes) windows.push(at);
    let posted = 0;
    try {
      for (const offset of windows) {
        while (posted < windows.length && scanner.inFlight < 6) {
          const at = windows[posted++];
          scanner.post(at, Math.min(windowBytes, bytes.length - at));
        }
        const codes = await scanner.take();
        const length = Math.min(windowBytes, bytes.length - offset);
        for (let c = 0; c * clusterSize < length; c++) {
          const cluster = bytes.subarray(
            offset + c * clusterSize,
            offset + Math.min((c + 1) * clusterSize, length),
          );
          expect(codes[c]).toBe(cluster.every(b => b === 0) ? KEEP : STORE);
        }
        scanner.release();
      }
      await expect(scanner.take()).rejects.toThrow('no window posted');
    } finally {
      await scanner.close();
      await handle.close();
    }
  });

  it.each([{ workers: 1 }, { workers: 0, callerScans: true }])(
    'compares each cluster with the previous bytes the plan points to (%o)',
    async threads => {
      const clusterSize = 4 * KiB;
      const random = prng(9);
      const volume = new Uint8Array(8 * clusterSize);
      const previous = new Uint8Array(6 * clusterSize);
      fillRandom(random, previous);
      // Previous layer file: cluster k of the volume was at host k * clusterSize.
      volume.set(previous.subarray(0, clusterSize), 0); // 0: same data -> keep
      fillRandom(random, volume.subarray(clusterSize, 2 * clusterSize)); // 1: changed -> store
      // 2: now zero, previous data -> mark zero
      previous.fill(0, 3 * clusterSize, 4 * clusterSize); // 3: zero before and now -> keep
      fillRandom(random, volume.subarray(4 * clusterSize, 5 * clusterSize)); // 4: mixed -> check
      // 5: previous half past the end of its file (zeros there): volume equals -> keep
      volume.set(
        previous.subarray(5 * clusterSize, 5 * clusterSize + clusterSize / 2),
        5 * clusterSize,
      );
      volume[6 * clusterSize] = 7; // 6: previous zero, now data -> store
      // 7: past the previous file entirely -> corrupt, tested below
      const volumeFile = await fixture(volume);
      const previousFile = await fixture(
        previous.subarray(0, 5 * clusterSize + clusterSize / 2),
      );
      const scanner = new ParallelScanner({
        fd: volumeFile.fd,
        layers: [
          { fd: previousFile.fd, size: 5 * clusterSize + clusterSize / 2 },
        ],
        clusterSize,
        windowBytes: 7 * clusterSize,
        ...threads,
      });
      try {
        scanner.post(0, 7 * clusterSize, plan => {
          for (const k of [0, 1, 2, 3, 5]) {
            plan.layers[k] = 0;
            plan.hosts[k] = k * clusterSize;
          }
          plan.layers[4] = PREVIOUS_MIXED;
        });
        scanner.post(7 * clusterSize, clusterSize, plan => {
          plan.layers[0] = 0;
          plan.hosts[0] = 8 * clusterSize;
        });
        expect(Array.from((await scanner.take()).subarray(0, 7))).toEqual([
          KEEP,
          STORE,
          MARK_ZERO,
          KEEP,
          CHECK,
          KEEP,
          STORE,
        ]);
        scanner.release();
        await expectCorruptAt(scanner, 8 * clusterSize);
      } finally {
        await scanner.close();
        await volumeFile.close();
        await previousFile.close();
      }
    },
  );

  it.each([{ workers: 1 }, { workers: 0, callerScans: true }])(
    'compares runs of clusters whose previous bytes follow each other, and refuses a run that crosses the end of the previous file (%o)',
    async threads => {
      const clusterSize = 4 * KiB;
      const random = prng(11);
      // Previous file: 6 clusters, the last one half there. The volume's clusters 0-5 were at
      // hosts 5, 0, 1, 2, 3, 4 (so 1-5 are one run, 0 is not part of it).
      const previous = new Uint8Array(5 * clusterSize + clusterSize / 2);
      fillRandom(random, previous);
      const volume = new Uint8Array(8 * clusterSize);
      const at = (k: number) => previous.subarray(k * clusterSize);
      volume.set(at(5).subarray(0, clusterSize / 2), 0); // 0 <- host 5 (half): keep
      volume.set(at(0).subarray(0, clusterSize), clusterSize); // 1 <- host 0: keep
      fillRandom(random, volume.subarray(2 * clusterSize, 3 * clusterSize)); // 2: store
      // 3 <- host 2: now zero -> mark zero
      volume.set(at(3).subarray(0, clusterSize), 4 * clusterSize); // 4 <- host 3: keep
      volume.set(at(4).subarray(0, clusterSize), 5 * clusterSize); // 5 <- host 4: keep
      volume[5 * clusterSize + 100] ^= 1; // ...but one byte differs: store
      const volumeFile = await fixture(volume);
      const previousFile = await fixture(previous);
      const scanner = new ParallelScanner({
        fd: volumeFile.fd,
        layers: [{ fd: previousFile.fd, size: previous.length }],
        clusterSize,
        windowBytes: 6 * clusterSize,
        readBytes: 8 * clusterSize,
        ...threads,
      });
      try {
        scanner.post(0, 6 * clusterSize, plan => {
          plan.layers.fill(0, 0, 6);
          plan.hosts.set([5, 0, 1, 2, 3, 4].map(h => h * clusterSize));
        });
        // Clusters 6 and 7 at hosts 5 and 6: one run, whose second cluster starts past the end.
        scanner.post(6 * clusterSize, 2 * clusterSize, plan => {
          plan.layers.fill(0, 0, 2);
          plan.hosts.set([5 * clusterSize, 6 * clusterSize]);
        });
        expect(Array.from((await scanner.take()).subarray(0, 6))).toEqual([
          KEEP,
          KEEP,
          STORE,
          MARK_ZERO,
          KEEP,
          STORE,
        ]);
        scanner.release();
        await expectCorruptAt(scanner, 6 * clusterSize);
      } finally {
        await scanner.close();
        await volumeFile.close();
        await previousFile.close();
      }
    },
  );

  it('reports a read past the end of the volume, and close ends threads that wait', async () => {
    const handle = await fixture(new Uint8Array(64 * KiB));
    const scanner = new ParallelScanner({
      fd: handle.fd,
      layers: [],
      clusterSize: 64 * KiB,
      windowBytes: 64 * KiB,
      workers: 2,
    });
    try {
      scanner.post(0, 64 * KiB);
      scanner.post(64 * KiB, 64 * KiB);
      expect((await scanner.take())[0]).toBe(KEEP);
      await expect(scanner.take()).rejects.toThrow(
        'parallel scan failed: the volume ended at 65536',
      );
      expect(() => scanner.post(0, 128 * KiB)).toThrow('too long');
    } finally {
      await scanner.close();
    }
    const idle = new ParallelScanner({
      fd: handle.fd,
      layers: [],
      clusterSize: 4 * KiB,
      windowBytes: 4 * KiB,
      workers: 1,
      slots: 1,
    });
    await idle.close(); // the thread waits for a window: close must still end it
    await handle.close();
  });
});
