import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  IO_MODES,
  ioOptions,
  readAll,
  openFileChain,
  writeBase,
} from '../testing/images';
import { qemuCheck, qemuIdentical, requireQemu } from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { testVolumes, writeVolume } from '../testing/volumes';
import { hydrate } from '../hydrate/hydrate';
import { FileDiskSink } from '../file/FileDiskSink';
import { FileRangeSource } from '../file/FileRangeSource';
import { FileSink } from '../file/FileSink';
import { convertRawToQcow2 } from './convertRawToQcow2';

const KiB = 1024;

// Each case writes and checks whole images with qemu-img: seconds on a loaded machine (the
// default 5 s hook timeout failed writeOverlayFromRaw.test.ts's setup once in a full `npm test`).
jest.setTimeout(120_000);

describe('convertRawToQcow2 (full backup) checked by qemu-img', () => {
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('full');
  });
  afterAll(() => removeDir(dir));

  const volumes = testVolumes(42);
  const cases = volumes.flatMap(volume =>
    [4 * KiB, 64 * KiB, 2048 * KiB].flatMap(clusterSize =>
      // Both I/O modes: the thread pool (default) and blocking reads and writes.
      IO_MODES.map(mode => ({ volume, clusterSize, mode })),
    ),
  );

  it.each(cases.map(c => [c.volume.name, c.clusterSize, c.mode, c] as const))(
    '%s with %i-byte clusters, %s I/O: check clean, compare identical, reads back, hydrates',
    async (_name, clusterSize, mode, { volume }) => {
      const io = ioOptions(mode);
      const name = `${volume.name}-${clusterSize}-${mode.replace(/\W+/g, '-')}`;
      const raw = path.join(dir, `${name}.raw`);
      const image = path.join(dir, `${name}.qcow2`);
      await writeVolume(raw, volume.bytes);
      const result = await writeBase({ raw, image, clusterSize, ...io });

      const check = await qemuCheck(image);
      expect(check).toMatchObject({ exitCode: 0 });
      expect(check.report['check-errors']).toBe(0);
      expect(check.report.corruptions ?? 0).toBe(0);
      expect(check.report.leaks ?? 0).toBe(0);
      expect(
        await qemuIdentical({
          a: raw,
          aFormat: 'raw',
          b: image,
          bFormat: 'qcow2',
        }),
      ).toBe(true);

      // Only non-zero clusters are stored.
      let nonZero = 0;
      for (let at = 0; at < volume.bytes.length; at += clusterSize) {
        if (volume.bytes.subarray(at, at + clusterSize).some(b => b !== 0))
          nonZero++;
      }
      expect(result.dataClusters).toBe(nonZero);

      const { chain, close } = await openFileChain(image);
      try {
        expect(
          Buffer.from(await chain.read(0, volume.bytes.length)).equals(
            Buffer.from(volume.bytes),
          ),
        ).toBe(true);
        const out = path.join(dir, `${name}.out`);
        const sink = await FileDiskSink.open({
          path: out,
          size: chain.virtualSize,
          sync: false,
        });
        await hydrate({
          chain,
          sink,
          ioBytes: 256 * KiB,
          blocking: io.blocking,
        });
        await sink.close();
        expect(
          Buffer.from(await readAll(out)).equals(Buffer.from(volume.bytes)),
        ).toBe(true);
      } finally {
        await close();
      }
    },
  );

  it('refuses chunk bytes that are not whole clusters, and leaves no image', async () => {
    const raw = path.join(dir, 'chunk.raw');
    await writeVolume(raw, new Uint8Array(1024 * KiB).fill(1));
    const source = await FileRangeSource.open({ path: raw });
    const image = path.join(dir, 'chunk.qcow2');
    try {
      await expect(
        convertRawToQcow2({
          source,
          sink: await FileSink.create({ path: image, sync: false }),
          chunkBytes: 1000,
        }),
      ).rejects.toThrow(
        'chunk bytes 1000 must be a positive multiple of the cluster size 65536',
      );
    } finally {
      await source.close();
    }
    expect(
      (await fs.readdir(dir)).filter(f => f.includes('chunk.qcow2')),
    ).toEqual([]);
  });
});
