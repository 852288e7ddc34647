import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FileDiskSink } from '../file/FileDiskSink';
import { fileAllocation } from '../file/fileAllocation';
import { hydrate } from '../hydrate/hydrate';
import {
  IO_MODES,
  IoMode,
  ioOptions,
  openFileChain,
  writeBase,
  writeOverlay,
} from './images';
import { imageDifferences } from './imageDifferences';
import { MemoryDiskSink } from './memory';
import { qemuCheck, qemuIdentical, type QemuSecret } from './qemu';
import {
  changedVolume,
  randomResize,
  randomVolume,
  SparseVolume,
  writeSparseVolume,
} from './sparseVolume';
import { prng, randomInt } from './volumes';

const run = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;

/** What one round did (its seed reproduces it). */
export interface RoundReport {
  seed: number;
  mode: IoMode;
  /** How our images are stored: plain, compressed or LUKS-encrypted (all layers alike). */
  protection: Protection;
  /** Whether the writers were given the raw files' allocation (filefrag) or read everything. */
  allocation: 'filefrag' | 'read all';
  /** Per state: volume bytes, our cluster size, clusters our image stores. */
  states: Array<{ size: number; clusterSize: number; dataClusters: number }>;
  /** Comparisons made, all equal. */
  checks: number;
}

export type Protection = 'none' | 'deflate' | 'zstd' | 'luks';
export const PROTECTIONS: Protection[] = ['none', 'deflate', 'zstd', 'luks'];
const PASSPHRASE = 'differential soak passphrase';

/**
 * One seeded round of differential testing against qemu-img: a random sparse volume (holes,
 * explicit zero bytes, data; odd sizes; grown and shrunk between states) is backed up by our
 * writer as a base image and overlays (random cluster sizes, 4 KiB to 2 MiB, changing between
 * backups; a random I/O mode; with or without the file's allocation), and qemu-img makes its own
 * chain of the same states. Each state: `qemu-img check` finds our image clean, `qemu-img
 * compare` finds it equal to the volume, our reader reads the volume back from both chains, and
 * each overlay holds only what changed (unchanged clusters unallocated, clusters that became zero
 * zero-flagged, no stored cluster equal to its previous bytes or all zeros). At the end both
 * chains are hydrated, into a sparse file and into a device holding other bytes, and compared
 * with the last state.
 *
 * Our images may be compressed (deflate or zstd, a random level now and then) or encrypted
 * (LUKS; each overlay keeps the previous image's key or gets its own): drawn from a second
 * generator of the same seed, so the rest of a seed's round is the same with or without it
 * (`protection: 'none'` turns it off). qemu-img then checks and compares them given the
 * passphrase.
 *
 * Throws an error naming the seed and the state on the first difference.
 */
export async function differentialRound(options: {
  seed: number;
  /** An empty directory for this round's files. */
  dir: string;
  /** Largest volume; 80 MiB by default (more than two 32 MiB scanning windows). */
  maxBytes?: number;
  /** 'random' (default): drawn per round; or one fixed kind. */
  protection?: 'random' | Protection;
}): Promise<RoundReport> {
  const { seed, dir } = options;
  const random = prng(seed);
  const protect = prng((seed ^ 0x5bd1e995) >>> 0);
  const protection =
    options.protection === undefined || options.protection === 'random'
      ? PROTECTIONS[randomInt(protect, 0, PROTECTIONS.length - 1)]
      : options.protection;
  const encrypted = protection === 'luks';
  const passphrase = encrypted ? PASSPHRASE : undefined;
  let secret: QemuSecret | undefined;
  if (encrypted) {
    secret = { file: path.join(dir, 'passphrase') };
    await fs.writeFile(secret.file, PASSPHRASE, { mode: 0o600 });
  }
  const compression =
    protection === 'deflate' || protection === 'zstd'
      ? {
          type: protection,
          level:
            protect() < 0.3
              ? randomInt(protect, 1, protection === 'zstd' ? 19 : 9)
              : undefined,
        }
      : undefined;
  const maxBytes = options.maxBytes ?? 80 * MiB;
  const pick = <T>(items: readonly T[]): T =>
    items[randomInt(random, 0, items.length - 1)];
  const randomClusterSize = () => 2 ** randomInt(random, 12, 21);
  const mode = pick(IO_MODES);
  const io = ioOptions(mode);
  const report: RoundReport = {
    seed,
    mode,
    protection,
    allocation: random() < 0.5 ? 'filefrag' : 'read all',
    states: [],
    checks: 0,
  };
  const fail = (state: number, what: string): never => {
    throw new Error(
      `seed ${seed}, state ${state} (${JSON.stringify(report)}): ${what}`,
    );
  };
  const expectEqual = (state: number, what: string, equal: boolean) => {
    if (!equal) fail(state, what);
    report.checks++;
  };

  let volume = randomVolume({ random, maxBytes });
  const overlays = randomInt(random, 1, 5);
  let clusterSize = randomClusterSize();
  let previous: SparseVolume | undefined;
  for (let s = 0; s <= overlays; s++) {
    if (s > 0) {
      previous = volume;
      volume = changedVolume({
        random,
        previous,
        resize: randomResize({
          random,
          size: previous.bytes.length,
          maxBytes,
        }),
      });
      if (random() < 0.2) clusterSize = randomClusterSize();
    }
    const raw = path.join(dir, `state${s}.raw`);
    await writeSparseVolume(raw, volume);
    const allocated =
      report.allocation === 'filefrag'
        ? await fileAllocation({ path: raw })
        : undefined;
    const ours = path.join(dir, `o${s}.qcow2`);
    const newKey = encrypted
      ? ({ format: 'luks', passphrase: PASSPHRASE, iterations: 1000 } as const)
      : undefined;
    const result =
      s === 0
        ? await writeBase({
            raw,
            image: ours,
            clusterSize,
            allocated,
            compression,
            encryption: newKey,
            ...io,
          })
        : await writeOverlay({
            raw,
            previous: path.join(dir, `o${s - 1}.qcow2`),
            backingName: `o${s - 1}.qcow2`,
            image: ours,
            clusterSize,
            allocated,
            compression,
            encryption:
              encrypted && protect() < 0.5 ? 'previous-key' : newKey,
            passphrase,
            ...io,
          });
    report.states.push({
      size: volume.bytes.length,
      clusterSize,
      dataClusters: result.dataClusters,
    });

    const check = await qemuCheck(ours, { secret, backingLayers: s });
    expectEqual(
      s,
      `qemu-img check: ${JSON.stringify(check)}`,
      check.exitCode === 0 &&
        check.report['check-errors'] === 0 &&
        (check.report.corruptions ?? 0) === 0 &&
        (check.report.leaks ?? 0) === 0,
    );
    expectEqual(
      s,
      'qemu-img compare of our chain with the volume',
      await qemuIdentical({
        a: raw,
        aFormat: 'raw',
        b: ours,
        bFormat: 'qcow2',
        secret,
        bBackingLayers: s,
      }),
    );
    const wrong = await imageDifferences({
      image: ours,
      now: volume.bytes,
      before: previous?.bytes,
      passphrase,
    });
    expectEqual(s, `our image's clusters: ${wrong.join('; ')}`, !wrong.length);

    const theirs = path.join(dir, `q${s}.qcow2`);
    // Backing names both relative (resolved from the overlay's folder) and absolute.
    const backing =
      random() < 0.5 ? `q${s - 1}.qcow2` : path.join(dir, `q${s - 1}.qcow2`);
    await run(
      'qemu-img',
      [
        'convert',
        '-O',
        'qcow2',
        '-o',
        `cluster_size=${randomClusterSize()}`,
        ...(s > 0 ? ['-B', backing, '-F', 'qcow2'] : []),
        raw,
        theirs,
      ],
      { cwd: dir },
    );
    for (const image of [ours, theirs]) {
      expectEqual(
        s,
        `our reader over ${path.basename(image)}`,
        await readsBack(image, volume.bytes, image === ours ? passphrase : undefined),
      );
    }
  }
  // Hydrate both chains into a sparse file, and into a device that holds other bytes (zeros
  // must be written there).
  const hydrated = path.join(dir, 'hydrated.raw');
  for (const image of [`o${overlays}.qcow2`, `q${overlays}.qcow2`]) {
    const { chain, close } = await openFileChain(path.join(dir, image), {
      passphrase: image.startsWith('o') ? passphrase : undefined,
    });
    const device = new MemoryDiskSink(
      chain.virtualSize,
      false,
      randomInt(random, 1, 255),
    );
    try {
      const sink = await FileDiskSink.open({
        path: hydrated,
        size: chain.virtualSize,
        sync: false,
      });
      await hydrate({
        chain,
        sink,
        ioBytes: pick([64 * KiB, 256 * KiB, MiB]),
        concurrency: randomInt(random, 1, 8),
        blocking: io.blocking,
      });
      await sink.close();
      await hydrate({
        chain,
        sink: device,
        ioBytes: pick([64 * KiB, 256 * KiB, MiB]),
        concurrency: randomInt(random, 1, 8),
        skipZeroBlocks: random() < 0.5,
      });
    } finally {
      await close();
    }
    expectEqual(
      overlays,
      `hydrate of ${image} into a sparse file`,
      Buffer.from(await fs.readFile(hydrated)).equals(
        Buffer.from(volume.bytes),
      ),
    );
    expectEqual(
      overlays,
      `hydrate of ${image} into a device holding other bytes`,
      Buffer.from(device.bytes).equals(Buffer.from(volume.bytes)),
    );
  }
  return report;
}

/** True when our reader reads `bytes` from the chain whose top is `image`. */
async function readsBack(
  image: string,
  bytes: Uint8Array,
  passphrase?: string,
): Promise<boolean> {
  const { chain, close } = await openFileChain(image, { passphrase });
  try {
    return (
      chain.virtualSize === bytes.length &&
      Buffer.from(await chain.read(0, bytes.length)).equals(Buffer.from(bytes))
    );
  } finally {
    await close();
  }
}
