import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA, DigestScanner, ZERO } from './DigestScanner';

const CS = 64 * 1024;

/** 11 clusters and a half: zero, data, a single non-zero byte at the end of a cluster, zero … */
function volume(): Buffer {
  const v = Buffer.alloc(11 * CS + CS / 2);
  randomBytes(CS).copy(v, 1 * CS);
  v[3 * CS - 1] = 7; // cluster 2: only its last byte
  v[4 * CS] = 1; // cluster 4: only its first byte
  randomBytes(3 * CS).copy(v, 6 * CS);
  randomBytes(CS / 2).copy(v, 11 * CS); // the partial last cluster
  return v;
}

function expected(v: Buffer) {
  const codes: number[] = [];
  const digests: Buffer[] = [];
  for (let at = 0; at < v.length; at += CS) {
    const c = v.subarray(at, Math.min(at + CS, v.length));
    const zero = c.every(b => b === 0);
    codes.push(zero ? ZERO : DATA);
    digests.push(zero ? Buffer.alloc(16) : createHash('sha256').update(c).digest().subarray(0, 16));
  }
  return { codes, digests: Buffer.concat(digests) };
}

describe('DigestScanner', () => {
  let dir: string;
  let file: string;
  let v: Buffer;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-scan-'));
    file = path.join(dir, 'vol.raw');
    v = volume();
    await fs.writeFile(file, v);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it.each([
    { workers: 0, callerScans: true, windowClusters: 3 },
    { workers: 1, callerScans: true, windowClusters: 3 },
    { workers: 2, callerScans: false, windowClusters: 2 },
    { workers: 3, callerScans: true, windowClusters: 1 },
    { workers: 1, callerScans: false, windowClusters: 16 },
  ])('codes and digests of every window, in order, with $workers workers (caller scans: $callerScans)', async o => {
    const h = await fs.open(file, 'r');
    const scanner = new DigestScanner({ fd: h.fd, clusterSize: CS, windowBytes: o.windowClusters * CS, workers: o.workers, callerScans: o.callerScans });
    try {
      const want = expected(v);
      const codes: number[] = [];
      const digests: Buffer[] = [];
      const window = o.windowClusters * CS;
      let posted = 0;
      const postAhead = () => {
        while (posted < v.length && scanner.inFlight < scanner.inFlightLimit) {
          scanner.post(posted, Math.min(window, v.length - posted));
          posted += window;
        }
      };
      postAhead();
      for (let at = 0; at < v.length; at += window) {
        const count = Math.ceil(Math.min(window, v.length - at) / CS);
        const got = await scanner.take();
        codes.push(...got.codes.subarray(0, count));
        digests.push(Buffer.from(got.digests.subarray(0, count * 16)));
        scanner.release();
        postAhead();
      }
      expect(codes).toEqual(want.codes);
      expect(Buffer.concat(digests).equals(want.digests)).toBe(true);
    } finally {
      await scanner.close();
      await h.close();
    }
  });

  it.each([
    { workers: 0, callerScans: true },
    { workers: 1, callerScans: false },
  ])('a window past the end of the device is an error naming the offset ($workers workers)', async o => {
    const h = await fs.open(file, 'r');
    const scanner = new DigestScanner({ fd: h.fd, clusterSize: CS, windowBytes: 4 * CS, workers: o.workers, callerScans: o.callerScans });
    try {
      scanner.post(10 * CS, 4 * CS);
      await expect(scanner.take()).rejects.toThrow(/device ended at 655360 while reading/);
    } finally {
      await scanner.close();
      await h.close();
    }
  });

  it('refuses windows that are not whole clusters and more windows than slots', async () => {
    expect(() => new DigestScanner({ fd: 0, clusterSize: CS, windowBytes: CS + 1, workers: 0, callerScans: true })).toThrow(/whole clusters/);
    expect(() => new DigestScanner({ fd: 0, clusterSize: CS, windowBytes: CS, workers: 0, callerScans: false })).toThrow(/one scanning thread/);
    const scanner = new DigestScanner({ fd: 0, clusterSize: CS, windowBytes: CS, workers: 0, callerScans: true, slots: 1 });
    scanner.post(0, CS);
    expect(() => scanner.post(CS, CS)).toThrow(/too many windows/);
    await scanner.close();
  });
});
