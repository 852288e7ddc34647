import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FileDiskSink } from '../file/FileDiskSink';
import { FileRangeSource } from '../file/FileRangeSource';
import { FileSink } from '../file/FileSink';
import { Qcow2Error } from '../format/errors';
import { hydrate } from '../hydrate/hydrate';
import { Qcow2Chain, type ChainPassphrase } from '../reader/Qcow2Chain';
import { ioOptions, openFileChain, readAll, type IoMode } from '../testing/images';
import {
  encryptedImageOpts,
  qemuCheck,
  qemuIdentical,
  qemuImg,
  qemuImgRetrying,
  requireQemu,
  secretArgs,
  type QemuSecret,
} from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { blockSums, VerifyingRangeSource } from '../testing/verifyingSource';
import { compressibleVolumes, nextState, testVolumes, writeVolume } from '../testing/volumes';
import { convertRawToQcow2 } from '../writer/convertRawToQcow2';
import { COMPRESSION_WITH_ENCRYPTION, createQcow2Writer } from '../writer/Qcow2Writer';
import { writeOverlayFromRaw } from '../writer/writeOverlayFromRaw';
import { openLuksKey } from './openLuksKey';

const run = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;
const PASSPHRASE = 'correct horse battery staple';
/** The LUKS minimum: tests spend no time deriving keys. */
const FAST = 1000;

jest.setTimeout(120_000);

async function expectClean(image: string, secret: QemuSecret, backingLayers = 0) {
  const check = await qemuCheck(image, { secret, backingLayers });
  expect(check).toMatchObject({ exitCode: 0 });
  expect(check.report['check-errors']).toBe(0);
  expect(check.report.corruptions ?? 0).toBe(0);
  expect(check.report.leaks ?? 0).toBe(0);
}

/** Our reader and hydrate give back `bytes` from the encrypted chain topped by `image`. */
async function expectReadsBack(
  dir: string,
  image: string,
  bytes: Uint8Array,
  options: { passphrase?: ChainPassphrase; blocking?: boolean } = {},
) {
  const { chain, close } = await openFileChain(image, {
    passphrase: options.passphrase ?? PASSPHRASE,
  });
  try {
    expect(Buffer.from(await chain.read(0, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    // Reads not aligned to sectors decrypt whole sectors around them.
    const at = Math.floor(bytes.length / 3) + 77;
    expect(Buffer.from(await chain.read(at, 1000)).equals(Buffer.from(bytes.subarray(at, at + 1000)))).toBe(true);
    const out = path.join(dir, `${path.basename(image)}.hydrated`);
    const sink = await FileDiskSink.open({ path: out, size: chain.virtualSize, sync: false });
    await hydrate({ chain, sink, blocking: options.blocking });
    await sink.close();
    expect(Buffer.from(await readAll(out)).equals(Buffer.from(bytes))).toBe(true);
    return chain.layers.map(layer => layer.luksKey);
  } finally {
    await close();
  }
}

async function openFailure(image: string, passphrase?: ChainPassphrase): Promise<Qcow2Error> {
  const failure = await openFileChain(image, { passphrase }).then(
    async ({ close }) => {
      await close();
      return undefined;
    },
    error => error as Qcow2Error,
  );
  expect(failure).toBeInstanceOf(Qcow2Error);
  return failure!;
}

describe('encrypted images (LUKS), checked by qemu-img', () => {
  let dir: string;
  let secret: QemuSecret;
  let wrongSecret: QemuSecret;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('luks');
    secret = { file: path.join(dir, 'passphrase') };
    wrongSecret = { file: path.join(dir, 'wrong-passphrase') };
    await fs.writeFile(secret.file, PASSPHRASE, { mode: 0o600 });
    await fs.writeFile(wrongSecret.file, 'not the passphrase', { mode: 0o600 });
  });
  afterAll(() => removeDir(dir));

  const modes: IoMode[] = ['thread-pool', 'blocking, 2 scanning threads', 'blocking'];
  const volumes = [...testVolumes(3).filter(v => v.name !== 'all-zeros'), compressibleVolumes(3)[1]];
  const cases = volumes.flatMap((volume, v) =>
    [4 * KiB, 64 * KiB, 2 * MiB].map((clusterSize, i) => ({
      volume,
      clusterSize,
      mode: modes[(v + i) % modes.length],
      cipher: (v + i) % 4 === 3 ? ('aes-128-xts-plain64' as const) : ('aes-256-xts-plain64' as const),
    })),
  );

  it.each(cases.map(c => [c.volume.name, c.clusterSize, c.mode, c.cipher, c] as const))(
    'full backup of %s, %i-byte clusters, %s I/O, %s: clean, identical with the passphrase, ciphertext on disk',
    async (_name, clusterSize, mode, cipher, { volume }) => {
      const name = `${volume.name}-${clusterSize}-${cipher}`;
      const raw = path.join(dir, `${name}.raw`);
      const image = path.join(dir, `${name}.qcow2`);
      await writeVolume(raw, volume.bytes);
      const source = await FileRangeSource.open({ path: raw });
      const result = await convertRawToQcow2({
        source,
        sink: await FileSink.create({ path: image, sync: false }),
        clusterSize,
        encryption: { format: 'luks', passphrase: PASSPHRASE, cipher, iterations: FAST },
        ...ioOptions(mode),
      });
      await source.close();
      expect(result.layout.encryptionHeader).toEqual({
        headerOffset: result.layout.headClusters * clusterSize,
        // qemu's layout: 8 sectors + 8 slots of 4000 stripes × key bytes, each rounded to 8 sectors
        headerLength: cipher === 'aes-256-xts-plain64' ? 4040 * 512 : 2056 * 512,
      });
      await expectClean(image, secret);
      expect(await qemuIdentical({ a: raw, aFormat: 'raw', b: image, bFormat: 'qcow2', secret })).toBe(true);
      await expect(
        qemuIdentical({ a: raw, aFormat: 'raw', b: image, bFormat: 'qcow2', secret: wrongSecret }),
      ).rejects.toThrow(/Invalid password, cannot unlock any keyslot/);
      const info = JSON.parse(
        (await qemuImg(['info', '--output=json', image])).stdout,
      )['format-specific'].data.encrypt;
      expect(info).toMatchObject({
        format: 'luks',
        'cipher-alg': cipher === 'aes-256-xts-plain64' ? 'aes-256' : 'aes-128',
        'cipher-mode': 'xts',
        'ivgen-alg': 'plain64',
        'hash-alg': 'sha256',
      });
      expect(info.slots[0]).toMatchObject({ active: true, iters: FAST, stripes: 4000 });

      // No 64-byte run of a data cluster is found in the image file in the clear.
      const file = Buffer.from(await readAll(image));
      const probes: Array<{ at: number; bytes: Buffer }> = [];
      for (let at = 0; at + 64 <= volume.bytes.length; at += 256 * KiB + 4096) {
        const bytes = Buffer.from(volume.bytes.subarray(at, at + 64));
        if (bytes.some(b => b !== 0)) probes.push({ at, bytes });
      }
      expect(probes.filter(p => file.indexOf(p.bytes) !== -1).map(p => p.at)).toEqual([]);
      await expectReadsBack(dir, image, volume.bytes, { blocking: mode.startsWith('blocking') });
      expect((await openFailure(image)).kind).toBe('passphrase-missing');
      const wrong = await openFailure(image, 'not the passphrase');
      expect(wrong.kind).toBe('passphrase-wrong');
      expect(wrong.message).not.toContain('not the passphrase');
    },
  );

  it.each(['same key', 'a key per image'] as const)(
    'a chain of an encrypted base and 4 encrypted overlays (%s): clean, identical, hydrated',
    async keys => {
      const prefix = path.join(dir, `chain-${keys.replace(/ /g, '-')}`);
      let state = testVolumes(21)[0].bytes;
      await writeVolume(`${prefix}-0.raw`, state);
      const source0 = await FileRangeSource.open({ path: `${prefix}-0.raw` });
      await convertRawToQcow2({
        source: source0,
        sink: await FileSink.create({ path: `${prefix}-0.qcow2`, sync: false }),
        encryption: { format: 'luks', passphrase: PASSPHRASE, iterations: FAST },
      });
      await source0.close();
      for (let k = 1; k <= 4; k++) {
        state = nextState({ previous: state, seed: 60 + k, writes: 15, grow: k === 2 ? 64 * KiB : 0 });
        await writeVolume(`${prefix}-${k}.raw`, state);
        const source = await FileRangeSource.open({ path: `${prefix}-${k}.raw` });
        const previous = await openFileChain(`${prefix}-${k - 1}.qcow2`, { passphrase: PASSPHRASE });
        try {
          await writeOverlayFromRaw({
            source,
            previous: previous.chain,
            backing: { name: path.basename(`${prefix}-${k - 1}.qcow2`), format: 'qcow2' },
            sink: await FileSink.create({ path: `${prefix}-${k}.qcow2`, sync: false }),
            encryption:
              keys === 'same key'
                ? { format: 'luks', key: previous.chain.top.luksKey! }
                : { format: 'luks', passphrase: PASSPHRASE, iterations: FAST },
            ...ioOptions(modes[k % modes.length]),
          });
        } finally {
          await previous.close();
          await source.close();
        }
        await expectClean(`${prefix}-${k}.qcow2`, secret, k);
        expect(
          await qemuIdentical({
            a: `${prefix}-${k}.raw`,
            aFormat: 'raw',
            b: `${prefix}-${k}.qcow2`,
            bFormat: 'qcow2',
            secret,
            bBackingLayers: k,
          }),
        ).toBe(true);
      }
      const layerKeys = await expectReadsBack(dir, `${prefix}-4.qcow2`, state);
      // Layers that share a LUKS header are unlocked once, others each on their own.
      expect(new Set(layerKeys).size).toBe(keys === 'same key' ? 1 : 5);
    },
  );

  it('refuses an unencrypted overlay of an encrypted chain, leaving no file', async () => {
    const raw = path.join(dir, 'plain-on-encrypted.raw');
    const base = path.join(dir, 'plain-on-encrypted-0.qcow2');
    const top = path.join(dir, 'plain-on-encrypted-1.qcow2');
    await writeVolume(raw, testVolumes(4)[0].bytes);
    const source = await FileRangeSource.open({ path: raw });
    await convertRawToQcow2({
      source,
      sink: await FileSink.create({ path: base, sync: false }),
      encryption: { format: 'luks', passphrase: PASSPHRASE, iterations: FAST },
    });
    const previous = await openFileChain(base, { passphrase: PASSPHRASE });
    try {
      await expect(
        writeOverlayFromRaw({
          source,
          previous: previous.chain,
          backing: { name: path.basename(base), format: 'qcow2' },
          sink: await FileSink.create({ path: top, sync: false }),
        }),
      ).rejects.toThrow(/encryption is required: the overlay's backing chain is encrypted/);
    } finally {
      await previous.close();
      await source.close();
    }
    expect((await fs.readdir(dir)).filter(f => f.includes('plain-on-encrypted-1'))).toEqual([]);
  });

  it('refuses compression with encryption, as qemu-img does', async () => {
    const raw = path.join(dir, 'both.raw');
    await writeVolume(raw, testVolumes(5)[0].bytes);
    await expect(
      qemuImg([
        'convert', '-c', '-O', 'qcow2', ...secretArgs(secret),
        '-o', 'encrypt.format=luks,encrypt.key-secret=sec0', raw, path.join(dir, 'both-qemu.qcow2'),
      ]),
    ).rejects.toThrow(/Compression and encryption not supported at the same time/);
    const sink = await FileSink.create({ path: path.join(dir, 'both.qcow2'), sync: false });
    const refused = await createQcow2Writer({
      sink,
      virtualSize: MiB,
      compression: { type: 'zstd' },
      encryption: { format: 'luks', passphrase: PASSPHRASE },
    }).catch(error => error as Qcow2Error);
    await sink.abort();
    expect(refused).toBeInstanceOf(Qcow2Error);
    expect((refused as Qcow2Error).kind).toBe('invalid-argument');
    expect((refused as Qcow2Error).message).toBe(COMPRESSION_WITH_ENCRYPTION);
  });

  it('an overlay keeps the parent image\'s key through openLuksKey (without opening the chain)', async () => {
    const volume = testVolumes(6)[0].bytes;
    const next = nextState({ previous: volume, seed: 9, writes: 10 });
    const [raw0, raw1, base, top] = ['key-0.raw', 'key-1.raw', 'key-0.qcow2', 'key-1.qcow2'].map(f => path.join(dir, f));
    await writeVolume(raw0, volume);
    await writeVolume(raw1, next);
    const source0 = await FileRangeSource.open({ path: raw0 });
    await convertRawToQcow2({
      source: source0,
      sink: await FileSink.create({ path: base, sync: false }),
      encryption: { format: 'luks', passphrase: PASSPHRASE, iterations: FAST },
    });
    await source0.close();
    const parent = await FileRangeSource.open({ path: base });
    const key = await openLuksKey({ source: parent, name: base, passphrase: PASSPHRASE });
    await expect(openLuksKey({ source: parent, name: base, passphrase: 'wrong' })).rejects.toMatchObject({
      kind: 'passphrase-wrong',
    });
    await parent.close();
    expect(key).toBeDefined();
    // An overlay written clusters by clusters (as the datamover's delta engine does).
    const sink = await FileSink.create({ path: top, sync: false });
    const writer = await createQcow2Writer({
      sink,
      virtualSize: next.length,
      backing: { name: 'key-0.qcow2', format: 'qcow2' },
      encryption: { format: 'luks', key: key! },
    });
    const cs = writer.geometry.clusterSize;
    for (let i = 0; i < writer.geometry.clusterCount; i++) {
      const now = next.subarray(i * cs, (i + 1) * cs);
      if (!Buffer.from(now).equals(Buffer.from(volume.subarray(i * cs, (i + 1) * cs))))
        await writer.writeCluster(i, now);
    }
    await writer.finish();
    await expectClean(top, secret, 1);
    expect(await qemuIdentical({ a: raw1, aFormat: 'raw', b: top, bFormat: 'qcow2', secret, bBackingLayers: 1 })).toBe(true);
    const keys = await expectReadsBack(dir, top, next);
    expect(keys[0]).toBe(keys[1]);
  });

  it('is not authenticated: a tampered ciphertext decrypts silently; per-block digests (the repository\'s .sums) detect it', async () => {
    const volume = compressibleVolumes(8)[1].bytes;
    const raw = path.join(dir, 'tamper.raw');
    const image = path.join(dir, 'tamper.qcow2');
    await writeVolume(raw, volume);
    const source = await FileRangeSource.open({ path: raw });
    const result = await convertRawToQcow2({
      source,
      sink: await FileSink.create({ path: image, sync: false }),
      encryption: { format: 'luks', passphrase: PASSPHRASE, iterations: FAST },
    });
    await source.close();
    const bytes = Buffer.from(await readAll(image));
    const sums = blockSums(bytes, MiB);
    // Flip one bit in the first data cluster (it follows the head and the LUKS header area).
    const encryption = result.layout.encryptionHeader!;
    const dataAt = Math.ceil((encryption.headerOffset + encryption.headerLength) / 65536) * 65536 + 1000;
    bytes[dataAt] ^= 0x01;
    await fs.writeFile(image, bytes);
    const { chain, close } = await openFileChain(image, { passphrase: PASSPHRASE });
    const read = Buffer.from(await chain.read(0, volume.length));
    await close();
    expect(read.equals(Buffer.from(volume))).toBe(false); // no error: XTS has no integrity
    const differing = [...read.keys()].filter(i => read[i] !== volume[i]);
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.length).toBeLessThanOrEqual(16); // one AES block garbled
    const file = await FileRangeSource.open({ path: image });
    const verified = new VerifyingRangeSource(file, sums, MiB);
    await expect(
      Qcow2Chain.open({ source: verified, name: image, passphrase: PASSPHRASE }).then(c => c.read(0, volume.length)),
    ).rejects.toThrow(/block 2 of the image does not match its digest/);
    await file.close();
  });
});

describe('our reader reads LUKS images qemu-img made', () => {
  let dir: string;
  let secret: QemuSecret;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('qemu-luks');
    secret = { file: path.join(dir, 'passphrase') };
    await fs.writeFile(secret.file, PASSPHRASE, { mode: 0o600 });
  });
  afterAll(() => removeDir(dir));

  it.each([
    ['64k', 'aes-256'],
    ['4k', 'aes-256'],
    ['2M', 'aes-128'],
  ])('qemu-img convert, cluster_size=%s, %s-xts-plain64: byte-exact', async (clusterSize, cipher) => {
    const volume = testVolumes(31)[0];
    const raw = path.join(dir, `${clusterSize}.raw`);
    const image = path.join(dir, `${clusterSize}.qcow2`);
    await writeVolume(raw, volume.bytes);
    await qemuImgRetrying([
      'convert', '-O', 'qcow2', ...secretArgs(secret),
      '-o', `encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=${cipher},cluster_size=${clusterSize}`,
      raw, image,
    ]);
    await expectReadsBack(dir, image, volume.bytes, { blocking: clusterSize === '4k' });
    expect((await openFailure(image, 'wrong')).kind).toBe('passphrase-wrong');
  });

  it('a qemu-made chain of three encrypted images, each with its own key, written by qemu-io', async () => {
    const names = ['q0.qcow2', 'q1.qcow2', 'q2.qcow2'].map(n => path.join(dir, n));
    const luks = ['-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10'];
    await qemuImgRetrying(['create', '-q', '-f', 'qcow2', ...secretArgs(secret), ...luks, names[0], '4M']);
    const writes = [
      ['write -P 0x11 0 1M', 'write -P 0x12 3M 5k'],
      ['write -P 0x21 512k 1M', 'write -z 3M 4k'],
      ['write -P 0x31 100k 7k', 'write -P 0x32 4032k 64k'],
    ];
    for (let k = 0; k < 3; k++) {
      if (k > 0) {
        await qemuImgRetrying([
          'create', '-q', '-f', 'qcow2', ...secretArgs(secret), ...luks,
          '-b', path.basename(names[k - 1]), '-F', 'qcow2', names[k],
        ]);
      }
      const commands = writes[k].flatMap(c => ['-c', c]);
      await run('qemu-io', [...secretArgs(secret), '--image-opts', encryptedImageOpts(names[k], k), ...commands]);
    }
    const expected = path.join(dir, 'q2.expected.raw');
    await qemuImg(['convert', ...secretArgs(secret), '--image-opts', encryptedImageOpts(names[2], 2), '-O', 'raw', expected]);
    const layerKeys = await expectReadsBack(dir, names[2], await readAll(expected));
    expect(new Set(layerKeys).size).toBe(3);
    // One passphrase per layer: the function is asked by name, top first.
    const asked: string[] = [];
    await expectReadsBack(dir, names[2], await readAll(expected), {
      passphrase: ({ name }) => {
        asked.push(path.basename(name));
        return PASSPHRASE;
      },
    });
    expect(asked).toEqual(['q2.qcow2', 'q1.qcow2', 'q0.qcow2']);
    const failure = await openFailure(names[2], ({ name }) => (name.endsWith('q0.qcow2') ? undefined : PASSPHRASE));
    expect(failure.kind).toBe('passphrase-missing');
    expect(failure.message).toMatch(/q0\.qcow2 is encrypted/);
  });
});
