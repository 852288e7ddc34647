import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FileDiskSink } from '../file/FileDiskSink';
import { FileRangeSource } from '../file/FileRangeSource';
import { fileBackingResolver } from '../file/fileBackingResolver';
import { Qcow2Error } from '../format/errors';
import { hydrate } from '../hydrate/hydrate';
import { openFileChain, readAll } from '../testing/images';
import { qemuImg, qemuIo, requireQemu } from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { Qcow2Chain } from './Qcow2Chain';
import { layerExtents } from './layerExtents';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Hydrates `image` with our code and with `qemu-img convert -O raw`; both must be equal. */
async function expectSameAsQemu(
  dir: string,
  image: string,
): Promise<Uint8Array> {
  const theirs = path.join(dir, `${path.basename(image)}.qemu.raw`);
  const ours = path.join(dir, `${path.basename(image)}.ours.raw`);
  await qemuImg(['convert', '-O', 'raw', image, theirs]);
  const { chain, close } = await openFileChain(image);
  try {
    const sink = await FileDiskSink.open({
      path: ours,
      size: chain.virtualSize,
      sync: false,
    });
    await hydrate({ chain, sink });
    await sink.close();
  } finally {
    await close();
  }
  const expected = await readAll(theirs);
  expect(Buffer.from(await readAll(ours)).equals(Buffer.from(expected))).toBe(
    true,
  );
  return expected;
}

async function openError(
  image: string,
  options: { passphrase?: string } = {},
): Promise<Qcow2Error> {
  const source = await FileRangeSource.open({ path: image });
  try {
    const chain = await Qcow2Chain.open({
      source,
      name: image,
      resolveBacking: fileBackingResolver,
      passphrase: options.passphrase,
    });
    // Some problems only show when clusters are read.
    await chain.read(0, Math.min(chain.virtualSize, 4 * MiB));
    await chain.close();
  } catch (error) {
    expect(error).toBeInstanceOf(Qcow2Error);
    return error as Qcow2Error;
  } finally {
    await source.close();
  }
  throw new Error(`expected ${image} to be refused`);
}

/** `qemu-img create -f qcow2 <args>`, retried: LUKS creation times its key derivation and
 * sometimes fails on a busy VM ("Unable to get accurate CPU usage"). */
async function createWithRetry(args: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await qemuImg(['create', '-q', '-f', 'qcow2', ...args]);
      return;
    } catch (error) {
      if (attempt === 5 || !/accurate CPU usage/.test(String(error)))
        throw error;
    }
  }
}

jest.setTimeout(30_000);

describe('reading images made by qemu-img', () => {
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('reader');
  });
  afterAll(() => removeDir(dir));

  it.each([
    ['4K clusters', ['-o', 'cluster_size=4096']],
    ['64K clusters', []],
    ['2M clusters', ['-o', 'cluster_size=2M']],
    ['version 2 (compat=0.10)', ['-o', 'compat=0.10']],
    ['512-byte clusters', ['-o', 'cluster_size=512']],
  ])('a single image with %s', async (label, options) => {
    const image = path.join(dir, `single-${label.replace(/\W+/g, '-')}.qcow2`);
    await qemuImg(['create', '-q', '-f', 'qcow2', ...options, image, '7M']);
    await qemuIo(image, [
      'write -P 0xab 0 64k',
      'write -P 0x11 1000k 3k',
      'write -P 0x22 5M 2M',
      'write -P 0x33 7167k 1k',
      ...(label.startsWith('version 2') ? [] : ['write -z 5M 128k']),
    ]);
    const bytes = await expectSameAsQemu(dir, image);
    expect(bytes[0]).toBe(0xab);
    expect(bytes[7 * MiB - 1]).toBe(0x33);
  });

  it('a chain made with qemu-img create -b (relative names, sub-directory, raw base) and qemu-io writes', async () => {
    const sub = path.join(dir, 'chain');
    await fs.mkdir(path.join(sub, 'older'), { recursive: true });
    const raw = path.join(sub, 'older', 'base.raw');
    await fs.writeFile(raw, Buffer.alloc(3 * MiB, 0x5a));
    await qemuImg([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      'base.raw',
      '-F',
      'raw',
      path.join(sub, 'older', 'l1.qcow2'),
    ]);
    await qemuIo(path.join(sub, 'older', 'l1.qcow2'), [
      'write -P 0x01 64k 64k',
      'write -z 1M 256k',
    ]);
    // Grow the disk: the part past the raw base reads as zeros.
    await qemuImg([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      'cluster_size=4096',
      '-b',
      'older/l1.qcow2',
      '-F',
      'qcow2',
      path.join(sub, 'l2.qcow2'),
      '5M',
    ]);
    await qemuIo(path.join(sub, 'l2.qcow2'), [
      'write -P 0x02 100k 8k',
      'write -P 0x03 4M 12k',
      'write -z 0 4k',
    ]);
    // No backing format extension: probed. qemu-img insists on -F, so rename the extension
    // to an unknown (ignored) type afterwards.
    await qemuImg([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      'l2.qcow2',
      '-F',
      'qcow2',
      path.join(sub, 'top.qcow2'),
      '5M',
    ]);
    const top = await fs.open(path.join(sub, 'top.qcow2'), 'r+');
    const extension = Buffer.alloc(4);
    await top.read(extension, 0, 4, 112);
    expect(extension.readUInt32BE(0)).toBe(0xe2792aca);
    await top.write(Buffer.from([0x12, 0x34, 0x56, 0x78]), 0, 4, 112);
    await top.close();
    await qemuIo(path.join(sub, 'top.qcow2'), ['write -P 0x04 2M 1M']);
    const bytes = await expectSameAsQemu(dir, path.join(sub, 'top.qcow2'));
    expect(bytes[5]).toBe(0);
    expect(bytes[64 * KiB]).toBe(0x01);
    expect(bytes[1 * MiB + 10]).toBe(0);
    expect(bytes[3 * MiB + 10]).toBe(0);

    const { chain, close } = await openFileChain(path.join(sub, 'top.qcow2'));
    try {
      expect(
        chain.layers.map(l => `${path.relative(sub, l.name)}:${l.format}`),
      ).toEqual([
        'top.qcow2:qcow2',
        'l2.qcow2:qcow2',
        'older/l1.qcow2:qcow2',
        'older/base.raw:raw',
      ]);
      const l2Extents = [];
      for await (const extent of layerExtents(chain.layers[1]))
        l2Extents.push({
          kind: extent.kind,
          offset: extent.offset,
          length: extent.length,
        });
      expect(l2Extents).toEqual([
        { kind: 'zero', offset: 0, length: 4 * KiB },
        { kind: 'unallocated', offset: 4 * KiB, length: 96 * KiB },
        { kind: 'data', offset: 100 * KiB, length: 8 * KiB },
        { kind: 'unallocated', offset: 108 * KiB, length: 4 * MiB - 108 * KiB },
        { kind: 'data', offset: 4 * MiB, length: 12 * KiB },
        {
          kind: 'unallocated',
          offset: 4 * MiB + 12 * KiB,
          length: MiB - 12 * KiB,
        },
      ]);
    } finally {
      await close();
    }
  });

  it('refuses a backing chain that loops', async () => {
    const a = path.join(dir, 'loop-a.qcow2');
    const b = path.join(dir, 'loop-b.qcow2');
    await qemuImg(['create', '-q', '-f', 'qcow2', b, '1M']);
    await qemuImg([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      'loop-b.qcow2',
      '-F',
      'qcow2',
      a,
    ]);
    await qemuImg(['rebase', '-u', '-b', 'loop-a.qcow2', '-F', 'qcow2', b]);
    const error = await openError(a);
    expect(error.kind).toBe('corrupt');
    expect(error.message).toMatch(/loops back/);
  });

  it('refuses an overlay whose backing file is missing with the resolver error, and one without a resolver', async () => {
    const image = path.join(dir, 'orphan.qcow2');
    await qemuImg([
      'create',
      '-q',
      '-f',
      'qcow2',
      '-u',
      '-b',
      'gone.qcow2',
      '-F',
      'qcow2',
      image,
      '1M',
    ]);
    const source = await FileRangeSource.open({ path: image });
    try {
      await expect(
        Qcow2Chain.open({
          source,
          name: image,
          resolveBacking: fileBackingResolver,
        }),
      ).rejects.toThrow(/ENOENT/);
      await expect(Qcow2Chain.open({ source, name: image })).rejects.toThrow(
        /backing file "gone.qcow2" but no backing resolver/,
      );
    } finally {
      await source.close();
    }
  });

  it.each([
    [
      'legacy aes encryption',
      [
        '--object',
        'secret,id=sec0,data=123456',
        '-o',
        'encrypt.format=aes,encrypt.key-secret=sec0',
      ],
      /encrypted/,
    ],
    ['extended l2 entries', ['-o', 'extended_l2=on'], /extended l2/],
    [
      'an external data file',
      ['-o', 'data_file=data-file.raw'],
      /external data file/,
    ],
  ])(
    'refuses %s with an unsupported error',
    async (label, options, message) => {
      const image = path.join(
        dir,
        `unsupported-${label.replace(/\W+/g, '-')}.qcow2`,
      );
      // the external data file goes into the test's folder, not the working directory
      const folder = dir;
      const createOptions = options.map(option =>
        option.replace('data_file=', `data_file=${folder}/`),
      );
      // LUKS creation times its key derivation and sometimes fails on a busy VM
      // ("Unable to get accurate CPU usage"): retry a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          await qemuImg([
            'create',
            '-q',
            '-f',
            'qcow2',
            ...createOptions,
            image,
            '1M',
          ]);
          break;
        } catch (error) {
          if (attempt === 5 || !/accurate CPU usage/.test(String(error)))
            throw error;
        }
      }
      const error = await openError(image);
      expect(error.kind).toBe('unsupported');
      expect(error.message).toMatch(message);
    },
  );

  it('refuses a luks image without a passphrase (passphrase-missing) and with a wrong one (passphrase-wrong)', async () => {
    const image = path.join(dir, 'luks-no-passphrase.qcow2');
    await createWithRetry([
      '--object',
      'secret,id=sec0,data=123456',
      '-o',
      'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10',
      image,
      '1M',
    ]);
    const missing = await openError(image);
    expect(missing.kind).toBe('passphrase-missing');
    expect(missing.message).toMatch(/is encrypted \(luks\): a passphrase is needed/);
    const wrong = await openError(image, { passphrase: '654321' });
    expect(wrong.kind).toBe('passphrase-wrong');
    expect(wrong.message).toMatch(/opens none of the 1 active luks key slot/);
    expect(wrong.message).not.toMatch(/654321/);
  });

  it('reads compressed clusters qemu-io wrote (deflate and zstd)', async () => {
    for (const type of ['zlib', 'zstd']) {
      const image = path.join(dir, `compressed-${type}.qcow2`);
      await qemuImg([
        'create',
        '-q',
        '-f',
        'qcow2',
        '-o',
        `compression_type=${type}`,
        image,
        '1M',
      ]);
      await qemuIo(image, ['write -c -P 0x11 0 64k', 'write -c -P 0x22 128k 64k']);
      const { chain, close } = await openFileChain(image);
      try {
        const bytes = Buffer.from(await chain.read(0, 256 * KiB));
        expect(bytes.subarray(0, 64 * KiB).every(b => b === 0x11)).toBe(true);
        expect(bytes.subarray(64 * KiB, 128 * KiB).every(b => b === 0)).toBe(true);
        expect(bytes.subarray(128 * KiB, 192 * KiB).every(b => b === 0x22)).toBe(true);
        const extents = await chain.resolveRange(0, 256 * KiB);
        expect(extents.map(e => e.kind)).toEqual(['compressed', 'zero', 'compressed', 'zero']);
      } finally {
        await close();
      }
    }
  });
});
