import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FileDiskSink } from '../file/FileDiskSink';
import { hydrate } from '../hydrate/hydrate';
import { layerExtents } from '../reader/layerExtents';
import {
  IO_MODES,
  IoMode,
  ioOptions,
  openFileChain,
  readAll,
  writeBase,
  writeOverlay,
} from '../testing/images';
import {
  qemuCheck,
  qemuIdentical,
  qemuImg,
  requireQemu,
} from '../testing/qemu';
import { MemoryDiskSink } from '../testing/memory';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { fillRandom, nextState, prng, writeVolume } from '../testing/volumes';

const KiB = 1024;
const MiB = 1024 * KiB;

// Each case writes and checks whole images with qemu-img: seconds on a loaded machine (the
// default 5 s hook timeout failed once in a full `npm test`, beside the e2e suites).
jest.setTimeout(120_000);

async function expectClean(image: string): Promise<void> {
  const check = await qemuCheck(image);
  expect(check.exitCode).toBe(0);
  expect(check.report['check-errors']).toBe(0);
  expect(check.report.corruptions ?? 0).toBe(0);
  expect(check.report.leaks ?? 0).toBe(0);
}

describe.each([
  [4 * KiB, 'thread-pool'],
  [64 * KiB, 'thread-pool'],
  [2 * MiB, 'thread-pool'],
  [4 * KiB, 'blocking'],
  [64 * KiB, 'blocking'],
  [2 * MiB, 'blocking'],
  [64 * KiB, 'blocking, read-ahead'],
  [4 * KiB, 'blocking, 2 scanning threads'],
  [64 * KiB, 'blocking, 2 scanning threads'],
  [2 * MiB, 'blocking, 2 scanning threads'],
  [64 * KiB, 'thread-pool, 2 scanning threads'],
] as Array<[number, IoMode]>)(
  'chain of 6 (base + 5 overlays) with %i-byte clusters, %s I/O',
  (clusterSize, mode) => {
    const io = ioOptions(mode);
    const { blocking } = io;
    let dir: string;
    const states: Uint8Array[] = [];
    beforeAll(async () => {
      requireQemu();
      dir = await makeTempDir(
        `chain-${clusterSize}-${mode.replace(/\W+/g, '-')}`,
      );
      const random = prng(clusterSize);
      const base = new Uint8Array(8 * MiB + 512 * 3);
      for (let i = 0; i < 10; i++) {
        const offset = Math.floor(random() * (base.length - 512 * KiB));
        fillRandom(
          random,
          base.subarray(offset, offset + Math.floor(random() * 512 * KiB)),
        );
      }
      states.push(base);
      for (let s = 1; s <= 5; s++) {
        // State 3 grows the volume by 1 MiB: the overlay is larger than its backing file.
        states.push(
          nextState({
            previous: states[s - 1],
            seed: clusterSize + s,
            writes: 12,
            grow: s === 3 ? MiB : 0,
          }),
        );
      }
      // State 2 zeroes a whole region that held data: clusters that became zero.
      states[2].fill(0, 0, 2 * MiB);
      for (let s = 0; s < states.length; s++)
        await writeVolume(path.join(dir, `state${s}.raw`), states[s]);
      await writeBase({
        raw: path.join(dir, 'state0.raw'),
        image: path.join(dir, 'b0.qcow2'),
        clusterSize,
        ...io,
      });
      for (let s = 1; s < states.length; s++) {
        await writeOverlay({
          raw: path.join(dir, `state${s}.raw`),
          previous: path.join(dir, `b${s - 1}.qcow2`),
          backingName: `b${s - 1}.qcow2`,
          image: path.join(dir, `b${s}.qcow2`),
          clusterSize,
          ...io,
        });
      }
    });
    afterAll(() => removeDir(dir));

    it('every image passes qemu-img check and equals its state through its chain', async () => {
      for (let s = 0; s < states.length; s++) {
        const image = path.join(dir, `b${s}.qcow2`);
        await expectClean(image);
        expect(
          await qemuIdentical({
            a: path.join(dir, `state${s}.raw`),
            aFormat: 'raw',
            b: image,
            bFormat: 'qcow2',
          }),
        ).toBe(true);
      }
      const info = JSON.parse(
        (
          await qemuImg([
            'info',
            '--output=json',
            '--backing-chain',
            path.join(dir, 'b5.qcow2'),
          ])
        ).stdout,
      );
      expect(info).toHaveLength(6);
      expect(info[0]['backing-filename']).toBe('b4.qcow2');
      expect(info[0]['backing-filename-format']).toBe('qcow2');
      expect(info[0]['format-specific'].data.compat).toBe('1.1');
      expect(info[0]['format-specific'].data['refcount-bits']).toBe(16);
      expect(info[0]['cluster-size']).toBe(clusterSize);
    });

    it('overlays store only changed clusters and zero-flag clusters that became zero', async () => {
      const { chain, close } = await openFileChain(path.join(dir, 'b2.qcow2'));
      try {
        const kinds = new Map<string, number>();
        for await (const extent of layerExtents(chain.top))
          kinds.set(extent.kind, (kinds.get(extent.kind) ?? 0) + extent.length);
        expect(kinds.get('zero') ?? 0).toBeGreaterThan(0);
        // Every data cluster of the overlay differs from the previous state; unallocated ones are equal.
        const wrong: string[] = [];
        for await (const extent of layerExtents(chain.top)) {
          const now = Buffer.from(
            states[2].subarray(extent.offset, extent.offset + extent.length),
          );
          const before = Buffer.from(
            states[1].subarray(extent.offset, extent.offset + extent.length),
          );
          const isZero = (b: Buffer) => b.every(byte => byte === 0);
          let ok: boolean;
          if (extent.kind === 'unallocated') ok = now.equals(before);
          else if (extent.kind === 'zero') ok = isZero(now) && !isZero(before);
          else {
            ok = true;
            for (let at = 0; at < extent.length; at += clusterSize) {
              const end = at + clusterSize;
              if (now.subarray(at, end).equals(before.subarray(at, end)))
                ok = false;
            }
          }
          if (!ok) wrong.push(`${extent.kind} at ${extent.offset}`);
        }
        expect(wrong).toEqual([]);
      } finally {
        await close();
      }
    });

    it('hydrate of the chain equals qemu-img convert -O raw and the volume, for sparse and non-sparse sinks', async () => {
      const top = path.join(dir, 'b5.qcow2');
      const converted = path.join(dir, 'converted.raw');
      await qemuImg(['convert', '-O', 'raw', top, converted]);
      const expected = await readAll(converted);
      expect(Buffer.from(expected).equals(Buffer.from(states[5]))).toBe(true);
      const { chain, close } = await openFileChain(top);
      try {
        const sparse = path.join(dir, 'hydrated.raw');
        const sparseSink = await FileDiskSink.open({
          path: sparse,
          size: chain.virtualSize,
          sync: false,
        });
        const result = await hydrate({
          chain,
          sink: sparseSink,
          ioBytes: 128 * KiB,
          concurrency: 3,
          blocking,
        });
        await sparseSink.close();
        expect(
          Buffer.from(await readAll(sparse)).equals(Buffer.from(expected)),
        ).toBe(true);
        expect(result.zeroBytesWritten).toBe(0);
        expect(result.bytesPerLayer[0]).toBeGreaterThan(0);
        expect(result.bytesPerLayer.reduce((a, b) => a + b, 0)).toBe(
          result.dataBytes,
        );

        // A "device" full of garbage: zeros must be written.
        const device = path.join(dir, 'device.raw');
        await fs.writeFile(device, Buffer.alloc(chain.virtualSize, 0xee));
        const deviceSink = await FileDiskSink.open({
          path: device,
          size: chain.virtualSize,
          zeroesUnwritten: false,
          sync: false,
        });
        // FileDiskSink empties regular files; refill to simulate a used block device.
        await deviceSink.write(Buffer.alloc(chain.virtualSize, 0xee), 0);
        const written = await hydrate({ chain, sink: deviceSink, blocking });
        await deviceSink.close();
        expect(written.zeroBytesWritten + written.dataBytes).toBe(
          chain.virtualSize,
        );
        expect(
          Buffer.from(await readAll(device)).equals(Buffer.from(expected)),
        ).toBe(true);
      } finally {
        await close();
      }
    });
  },
);

describe('a chain whose layers use different cluster sizes', () => {
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('mixed');
  });
  afterAll(() => removeDir(dir));

  // The 2 MiB overlay's clusters span many 4 KiB clusters of the previous image, so scanning
  // threads leave them to the calling thread (CHECK) where the previous bytes are mixed.
  it.each(IO_MODES)(
    '64 KiB base, 4 KiB overlay, 2 MiB overlay: check, compare and hydrate agree with qemu-img (%s)',
    async mode => {
      const io = ioOptions(mode);
      const m = `m-${mode.replace(/\W+/g, '-')}-`;
      const sizes = [64 * KiB, 4 * KiB, 2 * MiB];
      let state: Uint8Array = new Uint8Array(6 * MiB);
      fillRandom(prng(9), state.subarray(MiB, 2 * MiB + 5000));
      for (let s = 0; s < sizes.length; s++) {
        if (s > 0)
          state = nextState({
            previous: state,
            seed: 500 + s,
            writes: 10,
            maxWrite: 100 * KiB,
          });
        await writeVolume(path.join(dir, `${m}${s}.raw`), state);
        if (s === 0) {
          await writeBase({
            raw: path.join(dir, `${m}0.raw`),
            image: path.join(dir, `${m}0.qcow2`),
            clusterSize: sizes[0],
            ...io,
          });
        } else {
          await writeOverlay({
            raw: path.join(dir, `${m}${s}.raw`),
            previous: path.join(dir, `${m}${s - 1}.qcow2`),
            backingName: `${m}${s - 1}.qcow2`,
            image: path.join(dir, `${m}${s}.qcow2`),
            clusterSize: sizes[s],
            ...io,
          });
        }
        await expectClean(path.join(dir, `${m}${s}.qcow2`));
        expect(
          await qemuIdentical({
            a: path.join(dir, `${m}${s}.raw`),
            aFormat: 'raw',
            b: path.join(dir, `${m}${s}.qcow2`),
            bFormat: 'qcow2',
          }),
        ).toBe(true);
      }
      const { chain, close } = await openFileChain(
        path.join(dir, `${m}2.qcow2`),
      );
      try {
        expect(chain.layers.map(l => l.granularity)).toEqual([
          2 * MiB,
          4 * KiB,
          64 * KiB,
        ]);
        const sink = new MemoryDiskSink(chain.virtualSize, false, 0x77);
        await hydrate({ chain, sink, ioBytes: 64 * KiB, concurrency: 2 });
        expect(Buffer.from(sink.bytes).equals(Buffer.from(state))).toBe(true);
      } finally {
        await close();
      }
    },
  );
});
