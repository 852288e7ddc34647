import { promises as fs } from 'node:fs';

/** Seeded PRNG (mulberry32) so every test volume and mutation is reproducible. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(
  random: () => number,
  min: number,
  max: number,
): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Fills `bytes` with non-zero-ish random data. */
export function fillRandom(random: () => number, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4) {
    const value = (random() * 4294967296) >>> 0;
    bytes[i] = value & 0xff;
    if (i + 1 < bytes.length) bytes[i + 1] = (value >>> 8) & 0xff;
    if (i + 2 < bytes.length) bytes[i + 2] = (value >>> 16) & 0xff;
    if (i + 3 < bytes.length) bytes[i + 3] = (value >>> 24) | 1;
  }
}

export interface TestVolume {
  name: string;
  bytes: Uint8Array;
}

const MiB = 1024 * 1024;

/** Structured and random volumes of a few MiB covering the edge cases of the writer. */
export function testVolumes(seed: number): TestVolume[] {
  const random = prng(seed);
  const sparse = new Uint8Array(6 * MiB);
  for (let i = 0; i < 12; i++) {
    const length = randomInt(random, 1, 300) * 1024;
    const offset = randomInt(random, 0, sparse.length - length);
    fillRandom(random, sparse.subarray(offset, offset + length));
  }
  const allData = new Uint8Array(3 * MiB);
  fillRandom(random, allData);
  const atEnd = new Uint8Array(5 * MiB + 3 * 512); // odd size: last cluster partial
  fillRandom(random, atEnd.subarray(atEnd.length - 700));
  const oddMixed = new Uint8Array(2 * MiB + 4096 + 1024);
  for (let offset = 0; offset < oddMixed.length; offset += 8192) {
    if (random() < 0.4)
      fillRandom(
        random,
        oddMixed.subarray(
          offset,
          Math.min(oddMixed.length, offset + randomInt(random, 1, 8192)),
        ),
      );
  }
  const single = new Uint8Array(4 * MiB);
  single[3 * MiB + 12345] = 7; // one byte in a whole disk
  return [
    { name: 'sparse', bytes: sparse },
    { name: 'all-zeros', bytes: new Uint8Array(4 * MiB) },
    { name: 'all-data', bytes: allData },
    { name: 'data-at-end-odd-size', bytes: atEnd },
    { name: 'odd-size-mixed', bytes: oddMixed },
    { name: 'single-byte', bytes: single },
  ];
}

/**
 * The next state of a volume: scattered writes of random data (4..`maxWrite` bytes), some
 * ranges zeroed (clusters that become zero), optionally grown.
 */
export function nextState(options: {
  previous: Uint8Array;
  seed: number;
  writes: number;
  maxWrite?: number;
  grow?: number;
}): Uint8Array {
  const random = prng(options.seed);
  const next = new Uint8Array(options.previous.length + (options.grow ?? 0));
  next.set(options.previous);
  const maxWrite = options.maxWrite ?? 256 * 1024;
  for (let i = 0; i < options.writes; i++) {
    const length = Math.min(next.length, randomInt(random, 4, maxWrite));
    const offset = randomInt(random, 0, next.length - length);
    const slice = next.subarray(offset, offset + length);
    if (random() < 0.25) slice.fill(0);
    else fillRandom(random, slice);
  }
  return next;
}

export async function writeVolume(
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  await fs.writeFile(path, bytes);
}

const WORDS = [
  'volume', 'cluster', 'backup', 'restore', 'snapshot', 'ferry', 'qcow2', 'kube',
  'pod', 'node', 'zstd', 'deflate', 'luks', 'overlay', 'chain', 'sector',
];

/** Fills `bytes` with text-like data (random words): compresses to roughly a tenth. */
export function fillText(random: () => number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) {
    const word = `${WORDS[Math.floor(random() * WORDS.length)]} `;
    for (let i = 0; i < word.length && at < bytes.length; i++, at++)
      bytes[at] = word.charCodeAt(i);
  }
}

/**
 * Volumes with data that compresses (text, constant bytes) next to data that does not
 * (random) and holes, for the compressed writer: the random clusters must stay uncompressed.
 */
export function compressibleVolumes(seed: number): TestVolume[] {
  const random = prng(seed);
  const mixed = new Uint8Array(6 * MiB + 3 * 512); // odd size: last cluster partial
  for (let offset = 0; offset < mixed.length; offset += 96 * 1024) {
    const length = Math.min(mixed.length - offset, randomInt(random, 1, 80) * 1024);
    const slice = mixed.subarray(offset, offset + length);
    const pick = random();
    if (pick < 0.45) fillText(random, slice);
    else if (pick < 0.7) fillRandom(random, slice);
    else if (pick < 0.85) slice.fill(randomInt(random, 1, 255));
  }
  mixed.fill(0x5a, mixed.length - 700); // the partial last cluster holds data
  const text = new Uint8Array(3 * MiB);
  fillText(random, text);
  const constant = new Uint8Array(2 * MiB).fill(0x01); // many compressed clusters share a host cluster
  return [
    { name: 'mixed-odd-size', bytes: mixed },
    { name: 'all-text', bytes: text },
    { name: 'constant-bytes', bytes: constant },
  ];
}

/** A later state of a compressible volume: text, random and zero writes. */
export function nextCompressibleState(options: {
  previous: Uint8Array;
  seed: number;
  writes: number;
}): Uint8Array {
  const random = prng(options.seed);
  const next = new Uint8Array(options.previous);
  for (let i = 0; i < options.writes; i++) {
    const length = Math.min(next.length, randomInt(random, 512, 200 * 1024));
    const offset = randomInt(random, 0, next.length - length);
    const slice = next.subarray(offset, offset + length);
    const pick = random();
    if (pick < 0.2) slice.fill(0);
    else if (pick < 0.6) fillText(random, slice);
    else fillRandom(random, slice);
  }
  return next;
}
