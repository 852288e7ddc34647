import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FileDiskSink } from '../file/FileDiskSink';
import { FileRangeSource } from '../file/FileRangeSource';
import { FileSink } from '../file/FileSink';
import type { CompressionType } from '../format/header';
import { hydrate } from '../hydrate/hydrate';
import { layerExtents } from '../reader/layerExtents';
import { ioOptions, openFileChain, readAll, type IoMode } from '../testing/images';
import { qemuCheck, qemuIdentical, qemuImg, qemuIo, requireQemu } from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';
import {
  compressibleVolumes,
  fillRandom,
  fillText,
  nextCompressibleState,
  prng,
  writeVolume,
} from '../testing/volumes';
import { convertRawToQcow2 } from './convertRawToQcow2';
import { createQcow2Writer } from './Qcow2Writer';
import { writeOverlayFromRaw } from './writeOverlayFromRaw';

const KiB = 1024;
const MiB = 1024 * KiB;

jest.setTimeout(120_000);

async function expectClean(image: string) {
  const check = await qemuCheck(image);
  expect(check).toMatchObject({ exitCode: 0 });
  expect(check.report['check-errors']).toBe(0);
  expect(check.report.corruptions ?? 0).toBe(0);
  expect(check.report.leaks ?? 0).toBe(0);
  return check.report;
}

/** Our reader and hydrate give back `bytes` from the chain topped by `image`. */
async function expectReadsBack(dir: string, image: string, bytes: Uint8Array, blocking = false) {
  const { chain, close } = await openFileChain(image);
  try {
    expect(Buffer.from(await chain.read(0, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    // Unaligned small reads go through the one-cluster decompression cache.
    const at = Math.floor(bytes.length / 3) + 123;
    expect(Buffer.from(await chain.read(at, 5000)).equals(Buffer.from(bytes.subarray(at, at + 5000)))).toBe(true);
    const out = path.join(dir, `${path.basename(image)}.hydrated`);
    const sink = await FileDiskSink.open({ path: out, size: chain.virtualSize, sync: false });
    await hydrate({ chain, sink, blocking, ioBytes: 48 * KiB + 4096 * 3 });
    await sink.close();
    expect(Buffer.from(await readAll(out)).equals(Buffer.from(bytes))).toBe(true);
  } finally {
    await close();
  }
}

function compressionName(type: CompressionType): string {
  return type === 'deflate' ? 'zlib' : 'zstd';
}

describe('compressed images, checked by qemu-img', () => {
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('compressed');
  });
  afterAll(() => removeDir(dir));

  const types: CompressionType[] = ['deflate', 'zstd'];
  const modes: IoMode[] = ['thread-pool', 'blocking, 2 scanning threads'];
  const cases = compressibleVolumes(5).flatMap(volume =>
    types.flatMap(type =>
      [4 * KiB, 64 * KiB, 2 * MiB].map((clusterSize, i) => ({
        volume,
        type,
        clusterSize,
        mode: modes[i % modes.length],
      })),
    ),
  );

  it.each(cases.map(c => [c.volume.name, c.type, c.clusterSize, c.mode, c] as const))(
    'full backup of %s, %s, %i-byte clusters, %s I/O: clean, identical, smaller, reads back',
    async (_name, type, clusterSize, mode, { volume }) => {
      const name = `${volume.name}-${type}-${clusterSize}`;
      const raw = path.join(dir, `${name}.raw`);
      const image = path.join(dir, `${name}.qcow2`);
      await writeVolume(raw, volume.bytes);
      const source = await FileRangeSource.open({ path: raw });
      const sink = await FileSink.create({ path: image, sync: false });
      const result = await convertRawToQcow2({
        source,
        sink,
        clusterSize,
        compression: { type },
        ...ioOptions(mode),
      });
      const plain = await convertRawToQcow2({
        source,
        sink: await FileSink.create({ path: `${image}.plain`, sync: false }),
        clusterSize,
      });
      await source.close();
      await expectClean(image);
      expect(await qemuIdentical({ a: raw, aFormat: 'raw', b: image, bFormat: 'qcow2' })).toBe(true);
      const { stdout } = await qemuImg(['info', '--output=json', image]);
      expect(JSON.parse(stdout)['format-specific'].data['compression-type']).toBe(compressionName(type));

      // Which clusters were stored compressed: exactly those whose codec output is smaller.
      const { chain, close } = await openFileChain(image);
      let compressed = 0;
      let stored = 0;
      for await (const extent of layerExtents(chain.top)) {
        if (extent.kind === 'compressed') compressed++;
        if (extent.kind === 'data') stored += Math.ceil(extent.length / clusterSize);
      }
      await close();
      expect(compressed).toBe(result.compressedClusters);
      expect(compressed + stored).toBe(result.dataClusters);
      expect(compressed).toBeGreaterThan(0);
      // Random data does not get smaller and stays as it is: only the mixed volume has whole
      // random clusters, and only below 2 MiB clusters (each of its 2 MiB clusters holds text or
      // constant bytes too); text and constant bytes always compress.
      const wholeRandomClusters = volume.name === 'mixed-odd-size' && clusterSize < 2 * MiB;
      expect({ storedUncompressed: stored > 0 }).toEqual({ storedUncompressed: wholeRandomClusters });
      expect(result.dataClusters).toBe(plain.dataClusters);
      // Smaller than without compression, but one 2 MiB cluster compressed still takes a host
      // cluster: no smaller then.
      const oneCluster = volume.bytes.length <= clusterSize;
      expect(result.imageSize).toBeLessThanOrEqual(plain.imageSize);
      expect({ smaller: result.imageSize < plain.imageSize }).toEqual({ smaller: !oneCluster });
      await expectReadsBack(dir, image, volume.bytes, mode.startsWith('blocking'));
    },
  );

  it.each(types)(
    'a chain of a compressed base and 3 compressed overlays (%s), mixed with uncompressed layers',
    async type => {
      let state = compressibleVolumes(9)[0].bytes;
      const prefix = path.join(dir, `chain-${type}`);
      await writeVolume(`${prefix}-0.raw`, state);
      const source0 = await FileRangeSource.open({ path: `${prefix}-0.raw` });
      await convertRawToQcow2({
        source: source0,
        sink: await FileSink.create({ path: `${prefix}-0.qcow2`, sync: false }),
        compression: { type },
      });
      await source0.close();
      for (let k = 1; k <= 3; k++) {
        state = nextCompressibleState({ previous: state, seed: 40 + k, writes: 12 });
        await writeVolume(`${prefix}-${k}.raw`, state);
        const source = await FileRangeSource.open({ path: `${prefix}-${k}.raw` });
        const previous = await openFileChain(`${prefix}-${k - 1}.qcow2`);
        try {
          await writeOverlayFromRaw({
            source,
            previous: previous.chain,
            backing: { name: path.basename(`${prefix}-${k - 1}.qcow2`), format: 'qcow2' },
            sink: await FileSink.create({ path: `${prefix}-${k}.qcow2`, sync: false }),
            // Layer 2 is stored uncompressed: a chain may mix both.
            compression: k === 2 ? undefined : { type, level: k === 3 ? 9 : undefined },
            ...ioOptions(k === 1 ? 'blocking, 2 scanning threads' : 'thread-pool'),
          });
        } finally {
          await previous.close();
          await source.close();
        }
        await expectClean(`${prefix}-${k}.qcow2`);
        expect(
          await qemuIdentical({ a: `${prefix}-${k}.raw`, aFormat: 'raw', b: `${prefix}-${k}.qcow2`, bFormat: 'qcow2' }),
        ).toBe(true);
      }
      await expectReadsBack(dir, `${prefix}-3.qcow2`, state, true);
    },
  );

  it('writes refcount blocks during the pass: a compressed image over many refcount blocks is clean', async () => {
    // 4 KiB clusters: a refcount block covers 2048 host clusters (8 MiB); ~18 MiB stored.
    const random = prng(77);
    const bytes = new Uint8Array(32 * MiB);
    for (let at = 0; at < bytes.length; at += 64 * KiB) {
      const slice = bytes.subarray(at, at + 64 * KiB);
      if (random() < 0.5) fillRandom(random, slice);
      else fillText(random, slice);
    }
    const raw = path.join(dir, 'many-blocks.raw');
    const image = path.join(dir, 'many-blocks.qcow2');
    await writeVolume(raw, bytes);
    const source = await FileRangeSource.open({ path: raw });
    const result = await convertRawToQcow2({
      source,
      sink: await FileSink.create({ path: image, sync: false }),
      clusterSize: 4 * KiB,
      compression: { type: 'zstd' },
    });
    await source.close();
    expect(result.layout.refcountBlocks).toBeGreaterThanOrEqual(3);
    await expectClean(image);
    expect(await qemuIdentical({ a: raw, aFormat: 'raw', b: image, bFormat: 'qcow2' })).toBe(true);
    await expectReadsBack(dir, image, bytes);
  });

  it.each([4 * KiB, 64 * KiB])(
    'compressible and incompressible clusters alternating (%i-byte clusters): none lost, no larger than qemu-img convert -c',
    async clusterSize => {
      // Incompressible clusters are held back while compressed bytes fill the current host
      // cluster: some are still held at an L2 table boundary and at the end.
      const random = prng(31);
      const count = clusterSize === 4 * KiB ? 1200 : 300; // 4 KiB: 3 L2 tables
      const bytes = new Uint8Array(count * clusterSize);
      for (let i = 0; i < count; i++) {
        const cluster = bytes.subarray(i * clusterSize, (i + 1) * clusterSize);
        const pick = (i * 7) % 5;
        if (pick === 0 || pick === 3 || i >= count - 2) fillRandom(random, cluster);
        else if (pick !== 4) fillText(random, cluster);
      }
      const raw = path.join(dir, `alternating-${clusterSize}.raw`);
      const image = path.join(dir, `alternating-${clusterSize}.qcow2`);
      const theirs = path.join(dir, `alternating-${clusterSize}.qemu.qcow2`);
      await writeVolume(raw, bytes);
      const source = await FileRangeSource.open({ path: raw });
      const result = await convertRawToQcow2({
        source,
        sink: await FileSink.create({ path: image, sync: false }),
        clusterSize,
        compression: { type: 'deflate' },
      });
      await source.close();
      // every L2 table maps some data (4 KiB clusters: 3 tables of 512 entries)
      expect(result.layout.l2Tables).toBe(Math.ceil(count / (clusterSize / 8)));
      await expectClean(image);
      expect(await qemuIdentical({ a: raw, aFormat: 'raw', b: image, bFormat: 'qcow2' })).toBe(true);
      await qemuImg(['convert', '-c', '-O', 'qcow2', '-o', `cluster_size=${clusterSize}`, raw, theirs]);
      // qemu fills the slack of a host cluster later; we pad once per 4 MiB held back.
      expect(result.imageSize).toBeLessThanOrEqual((await fs.stat(theirs)).size + 2 * clusterSize);
      await expectReadsBack(dir, image, bytes);
    },
  );

  it('refuses a bad compression option, naming the field, before writing anything', async () => {
    const image = path.join(dir, 'bad-options.qcow2');
    const attempt = (compression: unknown) =>
      FileSink.create({ path: image, sync: false }).then(sink =>
        createQcow2Writer({ sink, virtualSize: MiB, compression: compression as never }).finally(() =>
          sink.abort(),
        ),
      );
    await expect(attempt({ type: 'lz4' })).rejects.toThrow(/compression.type "lz4" must be "deflate" or "zstd"/);
    await expect(attempt({ type: 'zstd', level: 30 })).rejects.toThrow(/compression.level 30 must be an integer from 1 to 19 for zstd/);
    await expect(attempt({ type: 'deflate', level: 0 })).rejects.toThrow(/compression.level 0/);
    await expect(fs.stat(image)).rejects.toThrow(/ENOENT/);
  });
});

describe('our reader reads compressed images qemu-img made', () => {
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('qemu-compressed');
  });
  afterAll(() => removeDir(dir));

  it.each(
    (['zlib', 'zstd'] as const).flatMap(type =>
      ['4k', '64k', '2M'].map(clusterSize => [type, clusterSize] as const),
    ),
  )('qemu-img convert -c, compression_type=%s, cluster_size=%s: byte-exact', async (type, clusterSize) => {
    const volume = compressibleVolumes(11)[0];
    const raw = path.join(dir, `${type}-${clusterSize}.raw`);
    const image = path.join(dir, `${type}-${clusterSize}.qcow2`);
    await writeVolume(raw, volume.bytes);
    await qemuImg(['convert', '-c', '-O', 'qcow2', '-o', `compression_type=${type},cluster_size=${clusterSize}`, raw, image]);
    const { chain, close } = await openFileChain(image);
    let compressed = 0;
    for await (const extent of layerExtents(chain.top)) if (extent.kind === 'compressed') compressed++;
    await close();
    expect(compressed).toBeGreaterThan(0);
    await expectReadsBack(dir, image, volume.bytes, clusterSize === '64k');
  });

  it('a qemu-made chain: compressed base, overlay with compressed writes over it', async () => {
    const volume = compressibleVolumes(12)[1];
    const raw = path.join(dir, 'qchain.raw');
    const base = path.join(dir, 'qchain-0.qcow2');
    const top = path.join(dir, 'qchain-1.qcow2');
    await writeVolume(raw, volume.bytes);
    await qemuImg(['convert', '-c', '-O', 'qcow2', '-o', 'compression_type=zstd', raw, base]);
    await qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', '-b', 'qchain-0.qcow2', '-F', 'qcow2', top]);
    // Compressed writes into the overlay, over the base's clusters, and one plain write.
    await qemuIo(top, ['write -c -P 0x33 64k 64k', 'write -c -P 0x44 1M 128k', 'write -P 0x55 2M 4k']);
    const expected = Buffer.from(volume.bytes);
    expected.fill(0x33, 64 * KiB, 128 * KiB);
    expected.fill(0x44, MiB, MiB + 128 * KiB);
    expected.fill(0x55, 2 * MiB, 2 * MiB + 4 * KiB);
    const theirs = path.join(dir, 'qchain.qemu.raw');
    await qemuImg(['convert', '-O', 'raw', top, theirs]);
    expect(Buffer.from(await readAll(theirs)).equals(expected)).toBe(true);
    await expectReadsBack(dir, top, expected);
  });
});
