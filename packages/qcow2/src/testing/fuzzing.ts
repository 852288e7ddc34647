import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Qcow2Error } from '../format/errors';
import { hydrate } from '../hydrate/hydrate';
import type { BackingResolver } from '../io';
import { layerExtents } from '../reader/layerExtents';
import { Qcow2Chain } from '../reader/Qcow2Chain';
import type { CompressionOptions } from '../compress/clusterCodec';
import { createQcow2Writer } from '../writer/Qcow2Writer';
import {
  MemoryDiskSink,
  MemoryRangeError,
  MemorySink,
  MemorySource,
} from './memory';
import { qemuImg, qemuIo } from './qemu';
import { fillRandom, fillText, prng, randomInt } from './volumes';

/*
 * Fuzzing the reader with mutated images: a corpus of valid images (ours and qemu-img's), seeded
 * mutations of their headers, tables and bytes, and what reading a mutant may do (give data or
 * refuse it with a typed error; never crash, hang or read more than the file). Used by
 * reader/fuzz.test.ts (fixed seeds) and by `npm run soak:qcow2 -- --fuzz` (many more).
 */

const KiB = 1024;
const MiB = 1024 * KiB;

/** A valid image to mutate. */
export interface FuzzSeed {
  name: string;
  bytes: Uint8Array;
  /** Backing files by name, for overlays. */
  backing?: Map<string, Uint8Array>;
}

async function ourImage(options: {
  clusterSize: number;
  virtualSize: number;
  seed: number;
  backing?: string;
  /** Compressed clusters (half of the data clusters then hold text, which compresses). */
  compression?: CompressionOptions;
}): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await createQcow2Writer({
    sink,
    virtualSize: options.virtualSize,
    clusterSize: options.clusterSize,
    compression: options.compression,
    backing: options.backing
      ? { name: options.backing, format: 'qcow2' }
      : undefined,
  });
  const random = prng(options.seed);
  const cluster = new Uint8Array(options.clusterSize);
  for (let index = 0; index < writer.geometry.clusterCount; index++) {
    const roll = random();
    if (roll < 0.3) {
      if (options.compression && roll < 0.15) fillText(random, cluster);
      else fillRandom(random, cluster);
      await writer.writeCluster(index, cluster);
    } else if (roll < 0.4) {
      await writer.markZero(index);
    }
  }
  await writer.finish();
  return sink.committed!;
}

/** An image made by `qemu-img create -o <options>` and written with `qemu-io`. */
async function qemuImage(options: {
  path: string;
  options: string;
  size: string;
  writes: string[];
}): Promise<Uint8Array> {
  await qemuImg([
    'create',
    '-q',
    '-f',
    'qcow2',
    '-o',
    options.options,
    options.path,
    options.size,
  ]);
  await qemuIo(options.path, options.writes);
  return new Uint8Array(await fs.readFile(options.path));
}

/**
 * The corpus: our base (4 KiB clusters) and overlay (64 KiB), a qemu-img image (4 KiB clusters,
 * data, a zero cluster, data at the end), a qemu-img version 2 image, our zstd-compressed image
 * and a qemu-img image with compressed (zlib) clusters. `dir` holds qemu-img's
 * files while they are made.
 */
export async function fuzzCorpus(dir: string): Promise<FuzzSeed[]> {
  const seeds: FuzzSeed[] = [];
  const base = await ourImage({
    clusterSize: 4 * KiB,
    virtualSize: MiB,
    seed: 1,
  });
  seeds.push({ name: 'our base, 4K clusters', bytes: base });
  seeds.push({
    name: 'our overlay, 64K clusters',
    bytes: await ourImage({
      clusterSize: 64 * KiB,
      virtualSize: 2 * MiB,
      seed: 2,
      backing: 'base',
    }),
    backing: new Map([['base', base]]),
  });
  seeds.push({
    name: 'qemu image, 4K clusters',
    bytes: await qemuImage({
      path: path.join(dir, 'qemu.qcow2'),
      options: 'cluster_size=4096',
      size: '3M',
      writes: [
        'write -P 0x61 0 8k',
        'write -P 0x62 1M 100k',
        'write -z 8k 4k',
        'write -P 0x63 3068k 4k',
      ],
    }),
  });
  seeds.push({
    name: 'qemu version 2 image',
    bytes: await qemuImage({
      path: path.join(dir, 'v2.qcow2'),
      options: 'compat=0.10,cluster_size=8192',
      size: '1M',
      writes: ['write -P 0x71 0 24k', 'write -P 0x72 600k 8k'],
    }),
  });
  // Appended after the first four so that their mutations stay the same for the same seed.
  seeds.push({
    name: 'our zstd-compressed image, 4K clusters',
    bytes: await ourImage({
      clusterSize: 4 * KiB,
      virtualSize: MiB,
      seed: 3,
      compression: { type: 'zstd' },
    }),
  });
  seeds.push({
    name: 'qemu image with compressed (zlib) clusters',
    bytes: await qemuImage({
      path: path.join(dir, 'compressed.qcow2'),
      options: 'cluster_size=8192',
      size: '1M',
      writes: [
        'write -c -P 0x41 0 8k',
        'write -c -P 0x42 64k 16k',
        'write -P 0x43 200k 8k',
        'write -c -P 0x44 1016k 8k',
      ],
    }),
  });
  return seeds;
}

const HEADER_FIELDS: Array<[number, number]> = [
  [4, 4],
  [8, 8],
  [16, 4],
  [20, 4],
  [24, 8],
  [32, 4],
  [36, 4],
  [40, 8],
  [48, 8],
  [56, 4],
  [60, 4],
  [64, 8],
  [72, 8],
  [80, 8],
  [88, 8],
  [96, 4],
  [100, 4],
  [112, 4],
  [116, 4],
];
const BOUNDARY = [
  0, 1, 7, 8, 9, 12, 16, 21, 22, 63, 64, 104, 112, 512, 4096, 65536, 0x7fffffff,
  0x80000000, 0xffffffff,
];

/** One seeded mutation of `original`: header fields, metadata bytes, random bytes or truncation. */
export function mutate(original: Uint8Array, random: () => number): Uint8Array {
  const bytes = original.slice();
  const view = new DataView(bytes.buffer);
  const clusterBits = view.getUint32(20);
  const clusterSize =
    clusterBits >= 9 && clusterBits <= 21 ? 2 ** clusterBits : 65536;
  const l1Offset = Number(view.getBigUint64(40) & 0xffffffffffn);
  const strategy = randomInt(random, 0, 5);
  const poke = (at: number) => {
    if (at >= 0 && at < bytes.length) bytes[at] = randomInt(random, 0, 255);
  };
  switch (strategy) {
    case 0: {
      const [at, width] =
        HEADER_FIELDS[randomInt(random, 0, HEADER_FIELDS.length - 1)];
      const value =
        random() < 0.5
          ? BOUNDARY[randomInt(random, 0, BOUNDARY.length - 1)]
          : (random() * 2 ** 32) >>> 0;
      if (width === 4) view.setUint32(at, value);
      else if (random() < 0.5) view.setUint32(at, value);
      else view.setUint32(at + 4, value);
      break;
    }
    case 1:
      for (let i = randomInt(random, 1, 4); i > 0; i--)
        poke(randomInt(random, 0, 255));
      break;
    case 2: // L1 table
      for (let i = randomInt(random, 1, 4); i > 0; i--)
        poke(l1Offset + randomInt(random, 0, 63));
      break;
    case 3: {
      // An L2 table or refcount structure: somewhere in metadata after the data, or any cluster start.
      const cluster = randomInt(
        random,
        0,
        Math.max(0, Math.floor(bytes.length / clusterSize) - 1),
      );
      for (let i = randomInt(random, 1, 6); i > 0; i--)
        poke(cluster * clusterSize + randomInt(random, 0, 255));
      break;
    }
    case 4:
      for (let i = randomInt(random, 1, 16); i > 0; i--)
        poke(randomInt(random, 0, bytes.length - 1));
      break;
    default:
      return bytes.subarray(0, randomInt(random, 0, bytes.length));
  }
  return bytes;
}

/** A mutant read past a bound: what the reader must never do. */
export class FuzzViolation extends Error {
  override name = 'FuzzViolation';
}

/** How long a mutant may take before it counts as a hang (far above the ~1 ms a read takes). */
const SLOW_MS = 5000;

/**
 * Opens a chain on `top`, walks its extents and reads it (hydrates it when at most 16 MiB, else
 * reads 4 places). Resolves with the sources when it reads; rejects with a Qcow2Error or
 * MemoryRangeError when the image is refused, or with a FuzzViolation when the reader read more
 * than a file, made too many reads or extents, or took too long.
 */
export async function readMutant(
  top: Uint8Array,
  backing: Map<string, Uint8Array> | undefined,
): Promise<{ sources: MemorySource[] }> {
  const started = Date.now();
  const sources: MemorySource[] = [new MemorySource(top)];
  const resolveBacking: BackingResolver = async ({ backingName }) => {
    const bytes = backing?.get(backingName);
    if (!bytes)
      throw new Qcow2Error(
        'invalid-argument',
        `no backing file ${backingName}`,
      );
    const source = new MemorySource(bytes);
    sources.push(source);
    return { name: backingName, source };
  };
  const chain = await Qcow2Chain.open({
    source: sources[0],
    name: 'top',
    resolveBacking,
    l2CacheBytes: MiB,
  });
  let extents = 0;
  for await (const extent of layerExtents(chain.top)) {
    extents++;
    if (extent.length <= 0) throw new FuzzViolation('an empty extent');
  }
  if (extents >= 2_000_000) throw new FuzzViolation(`${extents} extents`);
  if (chain.virtualSize <= 16 * MiB) {
    await hydrate({
      chain,
      sink: new MemoryDiskSink(chain.virtualSize, true),
      ioBytes: 256 * KiB,
    });
  } else {
    for (let i = 0; i < 4; i++)
      await chain.read(Math.floor((chain.virtualSize - 4096) * (i / 4)), 4096);
  }
  await chain.close();
  for (const source of sources) {
    if (source.largestRead > source.bytes.length)
      throw new FuzzViolation(
        `a read of ${source.largestRead} bytes from a file of ${source.bytes.length}`,
      );
    if (source.reads >= 100_000)
      throw new FuzzViolation(`${source.reads} reads`);
  }
  const took = Date.now() - started;
  if (took > SLOW_MS) throw new FuzzViolation(`reading took ${took} ms`);
  return { sources };
}

/**
 * `mutations` seeded mutants of each corpus image (seed `seed + corpus index`), each read with
 * {@link readMutant}. Counts the mutants read and refused; anything else (a violation, another
 * error) is listed in `unexpected` with the corpus image, seed and mutation number.
 */
export async function fuzzRound(options: {
  corpus: FuzzSeed[];
  seed: number;
  mutations: number;
}): Promise<{ accepted: number; refused: number; unexpected: string[] }> {
  const result = { accepted: 0, refused: 0, unexpected: [] as string[] };
  for (const [index, image] of options.corpus.entries()) {
    const random = prng(options.seed + index);
    for (let i = 0; i < options.mutations; i++) {
      const mutant = mutate(image.bytes, random);
      try {
        await readMutant(mutant, image.backing);
        result.accepted++;
      } catch (error) {
        if (error instanceof Qcow2Error || error instanceof MemoryRangeError)
          result.refused++;
        else
          result.unexpected.push(
            `${image.name}, seed ${options.seed + index}, mutation ${i}: ${
              (error as Error).stack
            }`,
          );
      }
    }
  }
  return result;
}
