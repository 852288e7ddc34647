import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Qcow2Error } from '../format/errors';
import { hydrate } from '../hydrate/hydrate';
import type { BackingResolver } from '../io';
import {
  MemoryDiskSink,
  MemoryRangeError,
  MemorySink,
  MemorySource,
} from '../testing/memory';
import { qemuImg, qemuIo, requireQemu } from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { fillRandom, prng, randomInt } from '../testing/volumes';
import { createQcow2Writer } from '../writer/Qcow2Writer';
import { layerExtents } from './layerExtents';
import { Qcow2Chain } from './Qcow2Chain';

jest.setTimeout(120_000);

const KiB = 1024;
const MiB = 1024 * KiB;
const MUTATIONS_PER_SEED = 700;

interface Seed {
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
}): Promise<Uint8Array> {
  const sink = new MemorySink();
  const writer = await createQcow2Writer({
    sink,
    virtualSize: options.virtualSize,
    clusterSize: options.clusterSize,
    backing: options.backing
      ? { name: options.backing, format: 'qcow2' }
      : undefined,
  });
  const random = prng(options.seed);
  const cluster = new Uint8Array(options.clusterSize);
  for (let index = 0; index < writer.geometry.clusterCount; index++) {
    const roll = random();
    if (roll < 0.3) {
      fillRandom(random, cluster);
      await writer.writeCluster(index, cluster);
    } else if (roll < 0.4) {
      await writer.markZero(index);
    }
  }
  await writer.finish();
  return sink.committed!;
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
function mutate(original: Uint8Array, random: () => number): Uint8Array {
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

async function exercise(
  top: Uint8Array,
  backing: Map<string, Uint8Array> | undefined,
): Promise<{ sources: MemorySource[] }> {
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
    if (extent.length <= 0) throw new Error('empty extent');
  }
  expect(extents).toBeLessThan(2_000_000);
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
  return { sources };
}

describe('reader fuzzing with mutated images (seeded)', () => {
  const seeds: Seed[] = [];
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('fuzz');
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
    const qemu = path.join(dir, 'qemu.qcow2');
    await qemuImg([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      'cluster_size=4096',
      qemu,
      '3M',
    ]);
    await qemuIo(qemu, [
      'write -P 0x61 0 8k',
      'write -P 0x62 1M 100k',
      'write -z 8k 4k',
      'write -P 0x63 3068k 4k',
    ]);
    seeds.push({
      name: 'qemu image, 4K clusters',
      bytes: new Uint8Array(await fs.readFile(qemu)),
    });
    const v2 = path.join(dir, 'v2.qcow2');
    await qemuImg([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      'compat=0.10,cluster_size=8192',
      v2,
      '1M',
    ]);
    await qemuIo(v2, ['write -P 0x71 0 24k', 'write -P 0x72 600k 8k']);
    seeds.push({
      name: 'qemu version 2 image',
      bytes: new Uint8Array(await fs.readFile(v2)),
    });
  });
  afterAll(() => removeDir(dir));

  it('unmutated seeds read cleanly', async () => {
    for (const seed of seeds) {
      const { sources } = await exercise(seed.bytes, seed.backing);
      expect(sources.length).toBe(seed.backing ? 2 : 1);
    }
  });

  it(`${MUTATIONS_PER_SEED} mutations per seed give data or a typed error, never a crash, a hang or a huge read`, async () => {
    const unexpected: string[] = [];
    let refused = 0;
    let accepted = 0;
    for (const [seedIndex, seed] of seeds.entries()) {
      const random = prng(1000 + seedIndex);
      for (let i = 0; i < MUTATIONS_PER_SEED; i++) {
        const mutant = mutate(seed.bytes, random);
        try {
          const { sources } = await exercise(mutant, seed.backing);
          for (const source of sources) {
            expect(source.largestRead).toBeLessThanOrEqual(source.bytes.length);
            expect(source.reads).toBeLessThan(100_000);
          }
          accepted++;
        } catch (error) {
          if (error instanceof Qcow2Error || error instanceof MemoryRangeError)
            refused++;
          else unexpected.push(`${seed.name} #${i}: ${(error as Error).stack}`);
        }
      }
    }
    expect(unexpected).toEqual([]);
    // The mutations must actually exercise both paths.
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(100);
  });
});
