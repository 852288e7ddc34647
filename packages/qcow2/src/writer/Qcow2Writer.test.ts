import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Qcow2Error } from '../format/errors';
import { FileSink } from '../file/FileSink';
import { openFileChain } from '../testing/images';
import { MemorySink, MemorySource } from '../testing/memory';
import { qemuCheck, qemuImg, requireQemu } from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { fillRandom, prng } from '../testing/volumes';
import { Qcow2Chain } from '../reader/Qcow2Chain';
import { createQcow2Writer } from './Qcow2Writer';

const KiB = 1024;
const MiB = 1024 * KiB;

jest.setTimeout(60_000);

describe('createQcow2Writer', () => {
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('writer');
  });
  afterAll(() => removeDir(dir));

  async function expectClean(image: string) {
    const check = await qemuCheck(image);
    expect(check.exitCode).toBe(0);
    expect(check.report['check-errors']).toBe(0);
    expect(check.report.leaks ?? 0).toBe(0);
    expect(check.report.corruptions ?? 0).toBe(0);
    return check.report;
  }

  it('rejects bad options with errors naming the value', async () => {
    const sink = new MemorySink();
    await expect(
      createQcow2Writer({ sink, virtualSize: MiB, clusterSize: 1000 }),
    ).rejects.toThrow(/cluster size 1000/);
    await expect(
      createQcow2Writer({ sink, virtualSize: MiB, clusterSize: 2048 }),
    ).rejects.toThrow(/4 KiB to 2 MiB/);
    await expect(
      createQcow2Writer({ sink, virtualSize: MiB + 1 }),
    ).rejects.toThrow(/multiple of 512/);
    await expect(
      createQcow2Writer({
        sink,
        virtualSize: MiB,
        backing: { name: 'x'.repeat(1024), format: 'qcow2' },
      }),
    ).rejects.toThrow(/backing file name must be 1..1023 bytes/);
    await expect(
      createQcow2Writer({
        sink,
        virtualSize: MiB,
        backing: { name: 'b', format: '' },
      }),
    ).rejects.toThrow(/backing format/);
  });

  it('refuses clusters out of order, out of range, partial in the middle, and use after finish', async () => {
    const writer = await createQcow2Writer({
      sink: new MemorySink(),
      virtualSize: MiB,
      clusterSize: 64 * KiB,
    });
    const cluster = new Uint8Array(64 * KiB).fill(1);
    await writer.writeCluster(3, cluster);
    await expect(writer.writeCluster(3, cluster)).rejects.toThrow(
      /increasing order \(next is 4\)/,
    );
    await expect(writer.markZero(2)).rejects.toThrow(Qcow2Error);
    await expect(writer.writeCluster(16, cluster)).rejects.toThrow(
      /the disk has 16 clusters/,
    );
    await expect(
      writer.writeCluster(5, cluster.subarray(0, 100)),
    ).rejects.toThrow(/not whole clusters/);
    await writer.finish();
    await expect(writer.writeCluster(9, cluster)).rejects.toThrow(
      /writer is finished/,
    );
  });

  it('writes the head last, through reserveHead, and appends strictly in order', async () => {
    const writes: Array<{ offset: number; length: number }> = [];
    const inner = new MemorySink();
    const sink = {
      reserveHead: (bytes: number) => inner.reserveHead(bytes),
      write: (data: Uint8Array, offset: number) => {
        writes.push({ offset, length: data.length });
        return inner.write(data, offset);
      },
      commit: () => inner.commit(),
      abort: () => inner.abort(),
    };
    const writer = await createQcow2Writer({
      sink,
      virtualSize: 8 * MiB,
      clusterSize: 64 * KiB,
      batchBytes: 256 * KiB,
    });
    const data = new Uint8Array(MiB);
    fillRandom(prng(5), data);
    await writer.writeClusters(10, data);
    const result = await writer.finish();
    expect(writes[writes.length - 1]).toEqual({
      offset: 0,
      length: 2 * 64 * KiB,
    });
    // Appends are contiguous from the end of the head; the 1 MiB run went out directly, the
    // small appends (L2 table, refcounts) in batches of at most 256 KiB.
    const appends = writes.slice(0, -1);
    appends.reduce((next, w) => {
      expect(w.offset).toBe(next);
      return w.offset + w.length;
    }, 2 * 64 * KiB);
    expect(appends[0]).toEqual({ offset: 2 * 64 * KiB, length: MiB });
    expect(appends.slice(1).every(w => w.length <= 256 * KiB)).toBe(true);
    expect(result).toMatchObject({
      dataClusters: 16,
      zeroClusters: 0,
      imageSize: inner.committed!.length,
    });
    expect(result.layout).toMatchObject({
      headClusters: 2,
      l1TableOffset: 64 * KiB,
      l2Tables: 1,
      refcountBlocks: 1,
    });
    const chain = await Qcow2Chain.open({
      source: new MemorySource(inner.committed!),
      name: 'mem',
    });
    expect(
      Buffer.from(await chain.read(10 * 64 * KiB, MiB)).equals(
        Buffer.from(data),
      ),
    ).toBe(true);
  });

  it('aborts the sink when asked and leaves no file behind', async () => {
    const image = path.join(dir, 'aborted.qcow2');
    const writer = await createQcow2Writer({
      sink: await FileSink.create({ path: image, sync: false }),
      virtualSize: MiB,
    });
    await writer.writeCluster(0, new Uint8Array(64 * KiB).fill(9));
    await writer.abort();
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('reserves the image on disk when asked and cuts it to its size, in both I/O modes', async () => {
    for (const blocking of [false, true]) {
      const image = path.join(dir, `reserved-${blocking}.qcow2`);
      const data = new Uint8Array(3 * 64 * KiB);
      fillRandom(prng(3), data);
      const writer = await createQcow2Writer({
        // Far more than the image needs, so the cut at commit matters.
        sink: await FileSink.create({
          path: image,
          sync: false,
          preallocate: 32 * MiB,
        }),
        virtualSize: 4 * MiB,
        blocking,
      });
      await writer.writeClusters(1, data);
      const result = await writer.finish();
      expect((await fs.stat(image)).size).toBe(result.imageSize);
      await expectClean(image);
      const { chain, close } = await openFileChain(image);
      try {
        expect(
          Buffer.from(await chain.read(64 * KiB, data.length)).equals(
            Buffer.from(data),
          ),
        ).toBe(true);
      } finally {
        await close();
      }
      await fs.unlink(image);
    }
    // Aborted while reserving: no file is left behind (fallocate creates missing files).
    const writer = await createQcow2Writer({
      sink: await FileSink.create({
        path: path.join(dir, 'reserved-aborted.qcow2'),
        sync: false,
        preallocate: 32 * MiB,
      }),
      virtualSize: MiB,
    });
    await writer.abort();
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('does not replace an existing image', async () => {
    const image = path.join(dir, 'exists.qcow2');
    await fs.writeFile(image, 'keep me');
    const writer = await createQcow2Writer({
      sink: await FileSink.create({ path: image, sync: false }),
      virtualSize: MiB,
    });
    await expect(writer.finish()).rejects.toThrow(/EEXIST/);
    expect(await fs.readFile(image, 'utf8')).toBe('keep me');
    expect(
      (await fs.readdir(dir)).filter(name => name.includes('exists')),
    ).toEqual(['exists.qcow2']);
    await fs.unlink(image);
  });

  it.each([
    ['an empty disk', 0, 64 * KiB, 0],
    [
      'many refcount blocks (4K clusters, 24 MiB of data)',
      24 * MiB,
      4 * KiB,
      24 * MiB,
    ],
    [
      'a multi-cluster L1 table (1 TiB, 4K clusters)',
      1024 * 1024 * MiB,
      4 * KiB,
      3 * MiB,
    ],
    ['2 MiB clusters over 64 GiB', 64 * 1024 * MiB, 2 * MiB, 6 * MiB],
  ])(
    'writes %s that qemu-img check accepts',
    async (label, virtualSize, clusterSize, dataBytes) => {
      const image = path.join(dir, `${label.replace(/\W+/g, '-')}.qcow2`);
      const writer = await createQcow2Writer({
        sink: await FileSink.create({ path: image, sync: false }),
        virtualSize,
        clusterSize,
      });
      const random = prng(virtualSize % 1000);
      const chunkBytes = Math.max(MiB, clusterSize);
      const chunk = new Uint8Array(chunkBytes);
      const chunks = dataBytes / chunkBytes;
      const clustersPerChunk = chunkBytes / clusterSize;
      // Spread the chunks evenly, the last one at the very end of the disk.
      const step =
        chunks > 1
          ? Math.floor(
              (writer.geometry.clusterCount - clustersPerChunk) / (chunks - 1),
            )
          : 0;
      const written: number[] = [];
      for (let i = 0; i < chunks; i++) {
        fillRandom(random, chunk);
        const first =
          i === chunks - 1
            ? writer.geometry.clusterCount - clustersPerChunk
            : i * step;
        await writer.writeClusters(first, chunk);
        written.push(first);
      }
      await writer.finish();
      const report = await expectClean(image);
      expect(report['allocated-clusters'] ?? 0).toBe(
        (written.length * chunkBytes) / clusterSize,
      );
      const info = JSON.parse(
        (await qemuImg(['info', '--output=json', image])).stdout,
      );
      expect(info['virtual-size']).toBe(virtualSize);
      const { chain, close } = await openFileChain(image);
      try {
        // The last chunk written (if any) reads back.
        const last = written.length
          ? written[written.length - 1] * clusterSize
          : 0;
        const expected = written.length ? chunk : new Uint8Array(0);
        expect(
          Buffer.from(await chain.read(last, expected.length)).equals(
            Buffer.from(expected),
          ),
        ).toBe(true);
      } finally {
        await close();
      }
    },
  );
});
