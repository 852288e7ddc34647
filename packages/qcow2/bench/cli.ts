/**
 * The "ours" side of the benchmark, run as its own process so its time and peak RSS are
 * measured like qemu-img's:
 *   full <raw> <out.qcow2>
 *   incremental <new.raw> <previous.qcow2> <out.qcow2>      (backing name = previous's file name)
 *   restore <top.qcow2> <out.raw>
 *   scan <raw>          (the floor of a pass: read and zero-check only, no image written)
 * Options: --sync (fdatasync the output before exit), --cluster-size <bytes>, --chunk-bytes <bytes>,
 * --read-depth <reads in flight>, --async (thread-pool I/O instead of blocking I/O),
 * --read-threads <worker threads scanning the volume (default: 2 from 1 GiB read)>,
 * --read-ahead <thread-pool reads in flight in blocking mode without read threads>,
 * --compress deflate|zstd [--level <n>] (compressed clusters), --encrypt <passphrase file>
 * [--iterations <PBKDF2 iterations>] (LUKS), --passphrase-file <file> (restore of encrypted images).
 * Raw inputs are regular files: their holes are found with fileAllocation (FIEMAP) and not read.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  FileDiskSink,
  FileRangeSource,
  FileSink,
  Qcow2Chain,
  fileAllocation,
  convertRawToQcow2,
  fileBackingResolver,
  hydrate,
  writeOverlayFromRaw,
} from '../src';
import { ParallelScanner, STORE } from '../src/file/ParallelScanner';
import type { CompressionOptions } from '../src/compress/clusterCodec';
import type { EncryptionOptions } from '../src/writer/Qcow2Writer';

async function openChain(
  image: string,
  passphrase?: Buffer,
): Promise<{ chain: Qcow2Chain; source: FileRangeSource }> {
  const source = await FileRangeSource.open({ path: image });
  const chain = await Qcow2Chain.open({
    source,
    name: image,
    resolveBacking: fileBackingResolver,
    passphrase,
  });
  return { chain, source };
}

/** A passphrase file's bytes, without one trailing newline. */
async function readPassphrase(file: string): Promise<Buffer> {
  const bytes = await fs.readFile(file);
  const end = bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  return bytes.subarray(0, end);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sync = args.includes('--sync');
  const valueOf = (flag: string) =>
    args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined;
  const clusterSize = valueOf('--cluster-size');
  const chunkBytes = valueOf('--chunk-bytes');
  const readDepth = valueOf('--read-depth');
  // This process does nothing else: blocking I/O on the main thread (see the README).
  const blocking = !args.includes('--async');
  const readThreads = valueOf('--read-threads');
  const readAhead = valueOf('--read-ahead');
  const textOf = (flag: string) =>
    args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined;
  const compressType = textOf('--compress');
  const compression: CompressionOptions | undefined = compressType
    ? { type: compressType as CompressionOptions['type'], level: valueOf('--level') }
    : undefined;
  const encryptFile = textOf('--encrypt');
  const encryption: EncryptionOptions | undefined = encryptFile
    ? {
        format: 'luks',
        passphrase: await readPassphrase(encryptFile),
        iterations: valueOf('--iterations'),
      }
    : undefined;
  const passphraseFile = textOf('--passphrase-file');
  const passphrase = passphraseFile ? await readPassphrase(passphraseFile) : undefined;
  const switches = new Set([
    '--sync',
    '--async',
    '--no-allocation',
    '--no-preallocate',
  ]);
  const positional = args.filter(
    (a, i) =>
      !a.startsWith('--') &&
      !(i > 0 && args[i - 1].startsWith('--') && !switches.has(args[i - 1])),
  );
  const [command, ...files] = positional;
  if (command === 'full') {
    // filefrag runs while the files are opened; the image is reserved on disk meanwhile.
    const allocation = args.includes('--no-allocation')
      ? Promise.resolve(undefined)
      : fileAllocation({ path: files[0] });
    const [source, stat] = await Promise.all([
      FileRangeSource.open({ path: files[0] }),
      fs.stat(files[0]),
    ]);
    // The image holds at most the allocated bytes, widened to clusters, plus its tables.
    const allocatedBytes = Math.min(stat.size, stat.blocks * 512);
    const sink = await FileSink.create({
      path: files[1],
      sync,
      overwrite: true,
      preallocate: args.includes('--no-preallocate')
        ? 0
        : allocatedBytes + allocatedBytes / 8 + 2 * 1024 * 1024,
    });
    const allocated = await allocation;
    const result = await convertRawToQcow2({
      source,
      sink,
      clusterSize,
      allocated,
      chunkBytes,
      readDepth,
      blocking,
      readThreads,
      readAhead,
      compression,
      encryption,
    });
    await source.close();
    process.stdout.write(
      `${JSON.stringify({
        dataClusters: result.dataClusters,
        compressedClusters: result.compressedClusters,
        imageSize: result.imageSize,
      })}\n`,
    );
  } else if (command === 'incremental') {
    const [raw, previous, out] = files;
    const source = await FileRangeSource.open({ path: raw });
    const prev = await openChain(previous);
    const result = await writeOverlayFromRaw({
      source,
      allocated: await fileAllocation({ path: raw }),
      previous: prev.chain,
      backing: { name: path.basename(previous), format: 'qcow2' },
      sink: await FileSink.create({ path: out, sync, overwrite: true }),
      clusterSize,
      chunkBytes,
      readDepth,
      blocking,
      readThreads,
      readAhead,
    });
    await prev.chain.close();
    await prev.source.close();
    await source.close();
    process.stdout.write(
      `${JSON.stringify({
        dataClusters: result.dataClusters,
        zeroClusters: result.zeroClusters,
        imageSize: result.imageSize,
      })}\n`,
    );
  } else if (command === 'restore') {
    const [image, out] = files;
    const { chain, source } = await openChain(image, passphrase);
    const sink = await FileDiskSink.open({
      path: out,
      size: chain.virtualSize,
      sync,
    });
    const result = await hydrate({
      chain,
      sink,
      concurrency: valueOf('--concurrency'),
      ioBytes: valueOf('--io-bytes'),
      blocking,
    });
    await sink.close();
    await chain.close();
    await source.close();
    process.stdout.write(
      `${JSON.stringify({ dataBytes: result.dataBytes })}\n`,
    );
  } else if (command === 'scan') {
    const source = await FileRangeSource.open({ path: files[0] });
    const nonZeroClusters = await scanOnly(source, readThreads ?? 2);
    await source.close();
    process.stdout.write(`${JSON.stringify({ nonZeroClusters })}\n`);
  } else {
    throw new Error(
      `unknown command "${command}": use full, incremental, restore or scan`,
    );
  }
}

/** Reads and zero-checks a whole file with the scanning threads (this one and workers). */
async function scanOnly(
  source: FileRangeSource,
  threads: number,
): Promise<number> {
  const size = await source.size();
  const windowBytes = 32 * 1024 * 1024;
  const scanner = new ParallelScanner({
    fd: source.fd,
    layers: [],
    clusterSize: 65536,
    windowBytes,
    workers: threads - 1,
    callerScans: true,
  });
  const windows = Math.ceil(size / windowBytes);
  let posted = 0;
  let nonZero = 0;
  try {
    for (let taken = 0; taken < windows; taken++) {
      while (posted < windows && scanner.inFlight < scanner.inFlightLimit) {
        const at = posted++ * windowBytes;
        scanner.post(at, Math.min(windowBytes, size - at));
      }
      const length = Math.min(windowBytes, size - taken * windowBytes);
      const codes = await scanner.take();
      for (const code of codes.subarray(0, Math.ceil(length / 65536)))
        if (code === STORE) nonZero++;
      scanner.release();
    }
  } finally {
    await scanner.close();
  }
  return nonZero;
}

main().then(
  // Nothing is left to wait for: skip the slower natural exit (thread pool teardown).
  () => process.exit(0),
  error => {
    process.stderr.write(
      `${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  },
);
