import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileAllocation, parseFilefrag } from '../file/fileAllocation';
import { FileRangeSource } from '../file/FileRangeSource';
import { FileSink } from '../file/FileSink';
import { layerExtents } from '../reader/layerExtents';
import { IO_MODES, ioOptions, openFileChain } from '../testing/images';
import { qemuCheck, qemuIdentical, requireQemu } from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { fillRandom, prng } from '../testing/volumes';
import { convertRawToQcow2 } from '../writer/convertRawToQcow2';
import { writeOverlayFromRaw } from '../writer/writeOverlayFromRaw';
import { planSegments } from './segments';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Writes only the non-zero 4 KiB blocks of `bytes`: a sparse file whose holes are its zeros. */
async function writeSparse(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  await handle.truncate(bytes.length);
  for (let at = 0; at < bytes.length; at += 4 * KiB) {
    const block = bytes.subarray(at, at + 4 * KiB);
    if (block.some(b => b !== 0))
      await handle.write(block, 0, block.length, at);
  }
  await handle.close();
}

describe('planSegments', () => {
  it('reads every cluster touching an allocated range and skips the rest', () => {
    const segments = [
      ...planSegments({
        size: 10 * 64 * KiB,
        clusterSize: 64 * KiB,
        chunkBytes: 128 * KiB,
        allocated: [
          { offset: 70 * KiB, length: 10 },
          { offset: 5 * 64 * KiB - 1, length: 2 },
          { offset: 0, length: 0 },
        ],
      }),
    ];
    expect(segments).toEqual([
      { kind: 'hole', offset: 0, length: 64 * KiB },
      { kind: 'read', offset: 64 * KiB, length: 64 * KiB },
      { kind: 'hole', offset: 128 * KiB, length: 128 * KiB },
      { kind: 'read', offset: 256 * KiB, length: 128 * KiB },
      { kind: 'hole', offset: 384 * KiB, length: 256 * KiB },
    ]);
  });

  it('reads everything without an allocation map', () => {
    expect(
      [
        ...planSegments({
          size: 300 * KiB,
          clusterSize: 64 * KiB,
          chunkBytes: 128 * KiB,
        }),
      ].map(s => s.length),
    ).toEqual([128 * KiB, 128 * KiB, 44 * KiB]);
  });
});

describe('parseFilefrag', () => {
  it('parses extents and refuses output it does not fully understand', () => {
    const good = [
      'Filesystem type is: ef53',
      'File size of a.raw is 4294967296 (1048576 blocks of 4096 bytes)',
      ' ext:     logical_offset:        physical_offset: length:   expected: flags:',
      '   0:     2248..    2264:   46303432..  46303448:     17:       2248:',
      '   1:     5412..    6341:   46325028..  46325957:    930:             unwritten,last',
      'a.raw: 2 extents found',
    ];
    expect(parseFilefrag(good.join('\n'))).toEqual([
      { offset: 2248 * 4096, length: 17 * 4096 },
      { offset: 5412 * 4096, length: 930 * 4096 },
    ]);
    expect(
      parseFilefrag(good.filter((_, i) => i !== 4).join('\n')),
    ).toBeUndefined(); // no "last"
    expect(
      parseFilefrag(good.filter((_, i) => i !== 3).join('\n')),
    ).toBeUndefined(); // numbering gap
    expect(parseFilefrag('filefrag: Operation not supported')).toBeUndefined();
  });
});

describe('fileAllocation', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('alloc-map');
  });
  afterAll(() => removeDir(dir));

  it('maps a sparse file with filefrag and a file without holes as one range', async () => {
    const bytes = new Uint8Array(4 * MiB);
    fillRandom(prng(3), bytes.subarray(MiB, MiB + 64 * KiB));
    const sparse = path.join(dir, 'sparse.raw');
    const dense = path.join(dir, 'dense.raw');
    await writeSparse(sparse, bytes);
    await fs.writeFile(dense, bytes);
    const map = await fileAllocation({ path: sparse });
    expect(map).toBeDefined();
    expect(map!.length).toBeGreaterThan(0);
    expect(map!.reduce((sum, r) => sum + r.length, 0)).toBeLessThan(MiB);
    for (const range of map!) {
      expect(range.offset).toBeLessThanOrEqual(MiB);
      expect(range.offset + range.length).toBeGreaterThanOrEqual(
        MiB + 64 * KiB,
      );
    }
    expect(await fileAllocation({ path: dense })).toEqual([
      { offset: 0, length: 4 * MiB },
    ]);
    const empty = path.join(dir, 'empty.raw');
    await fs.writeFile(empty, new Uint8Array(0));
    expect(await fileAllocation({ path: empty })).toEqual([]);
    // A device (stat size 0) is never "nothing allocated": filefrag cannot map it, read it all.
    expect(await fileAllocation({ path: '/dev/null' })).toBeUndefined();
  });
});

describe('backups of sparse files with a FIEMAP allocation map', () => {
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('alloc');
  });
  afterAll(() => removeDir(dir));

  it.each(IO_MODES)(
    'full and incremental backups skip holes and still equal the volume (%s I/O)',
    async mode => {
      const io = ioOptions(mode);
      const work = path.join(dir, mode.replace(/\W+/g, '-'));
      await fs.mkdir(work);
      const random = prng(77);
      const before = new Uint8Array(8 * MiB);
      fillRandom(random, before.subarray(MiB, 3 * MiB));
      fillRandom(
        random,
        before.subarray(6 * MiB + 4 * KiB, 6 * MiB + 40 * KiB),
      );
      const after = before.slice();
      after.fill(0, 2 * MiB, 3 * MiB); // data that became a hole
      fillRandom(random, after.subarray(4 * MiB, 4 * MiB + 8 * KiB)); // new data in a hole
      fillRandom(random, after.subarray(MiB, MiB + 100)); // changed data
      await writeSparse(path.join(work, 'before.raw'), before);
      await writeSparse(path.join(work, 'after.raw'), after);

      const allocated = await fileAllocation({
        path: path.join(work, 'before.raw'),
      });
      if (allocated === undefined)
        throw new Error(
          'filefrag (e2fsprogs) could not map the test file system',
        );
      expect(allocated.reduce((sum, r) => sum + r.length, 0)).toBeLessThan(
        3 * MiB,
      );

      const source = await FileRangeSource.open({
        path: path.join(work, 'before.raw'),
      });
      await convertRawToQcow2({
        source,
        allocated,
        ...io,
        sink: await FileSink.create({
          path: path.join(work, 'b0.qcow2'),
          sync: false,
        }),
      });
      await source.close();

      const next = await FileRangeSource.open({
        path: path.join(work, 'after.raw'),
      });
      const { chain, close } = await openFileChain(path.join(work, 'b0.qcow2'));
      const result = await writeOverlayFromRaw({
        source: next,
        previous: chain,
        backing: { name: 'b0.qcow2', format: 'qcow2' },
        allocated: await fileAllocation({ path: path.join(work, 'after.raw') }),
        ...io,
        sink: await FileSink.create({
          path: path.join(work, 'b1.qcow2'),
          sync: false,
        }),
      });
      await close();
      await next.close();
      expect(result.zeroClusters).toBe(16); // 1 MiB of 64 KiB clusters became zero
      expect(result.dataClusters).toBe(2); // the changed cluster and the new one

      for (const [raw, image] of [
        ['before.raw', 'b0.qcow2'],
        ['after.raw', 'b1.qcow2'],
      ]) {
        expect((await qemuCheck(path.join(work, image))).exitCode).toBe(0);
        expect(
          await qemuIdentical({
            a: path.join(work, raw),
            aFormat: 'raw',
            b: path.join(work, image),
            bFormat: 'qcow2',
          }),
        ).toBe(true);
      }
      const top = await openFileChain(path.join(work, 'b1.qcow2'));
      const zero = [];
      for await (const extent of layerExtents(top.chain.top))
        if (extent.kind === 'zero') zero.push(extent);
      await top.close();
      expect(zero).toEqual([{ kind: 'zero', offset: 2 * MiB, length: MiB }]);
    },
  );
});
