import { availableParallelism } from 'node:os';
import { hydrate, Qcow2Chain } from '@ferry/qcow2';
import type { ObjectRef, Repository } from '@ferry/repository';
import { HashPool, verifyingStream } from '@ferry/repository';
import { DatamoverError, toDatamoverError } from '../errors';
import { Device } from '../io/Device';
import { DeviceSink } from '../io/DeviceSink';
import { ProgressReporter, type ProgressSink } from '../io/Progress';
import { DIGEST_BYTES, IndexReader, clusterDigestInto } from './clusterIndex';
import { ZeroCheck } from './ZeroCheck';
import { protectionError } from './protection';

/** Images of at least this many bytes are checked on worker threads. */
const PARALLEL_HASH_MIN_BYTES = 128 * 1024 * 1024;

export interface VolumeRestoreOptions {
  repo: Repository;
  app: string;
  pvc: string;
  backupId: string;
  /** Block device or file to write (a missing file is created only with `create`). */
  device: string;
  create?: boolean;
  /** The block device is known to read as zeros (fresh thin volume): skip writing zero runs. */
  assumeZeroed?: boolean;
  /** After writing, read the device back and compare every cluster with the backup's index. */
  verifyAfter?: boolean;
  concurrency?: number;
  /**
   * Threads checking image blocks; by default 1 for chains of 128 MiB or more read from files,
   * on 2+ cores, else 0 (this thread: a target whose reads stream, S3, leaves it the time).
   */
  hashThreads?: number;
  progress?: ProgressSink;
  /** Opens encrypted (LUKS) images; a missing or wrong one fails before anything is written. */
  passphrase?: Uint8Array;
}

export interface VolumeRestoreResult {
  type: 'result';
  operation: 'volume-restore';
  app: string;
  pvc: string;
  backupId: string;
  virtualSize: number;
  /** Images read, top first, with the digests they were checked against. */
  chain: Array<{ backupId: string; key: string; size: number; sums: string }>;
  stats: { dataBytes: number; zeroBytesWritten: number; zeroBytesSkipped: number; bytesPerLayer: number[] };
  verifiedAfter: boolean;
  timings: {
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    writeMiBps: number;
    /** When this process started (`performance.timeOrigin`). */
    processStartedAt: string;
  };
}

/**
 * Hydrates a backup's chain from the repository straight into a device: no staging. Every
 * image byte read is checked against the image's block digests on the way (VerifiedRangeSource).
 */
export async function restoreVolume(o: VolumeRestoreOptions): Promise<VolumeRestoreResult> {
  const started = new Date();
  const progress = new ProgressReporter({ operation: 'volume-restore', bytesTotal: 0, sink: o.progress });
  progress.report('prepare', true);
  const layers = await o.repo.resolveChain({ app: o.app, pvc: o.pvc, backupId: o.backupId }).catch(e => {
    throw toDatamoverError(e);
  });
  const top = layers[0];
  const virtualSize = top.record.virtualSize;
  progress.total = virtualSize;
  const sink = await DeviceSink.open({ path: o.device, virtualSize, assumeZeroed: o.assumeZeroed, create: o.create });
  let chain: Qcow2Chain | undefined;
  // Checking every image byte is most of a restore's CPU: on worker threads when there is
  // enough to read for their start (~30 ms each) to pay, and the reads come from files. From
  // S3 this thread waits for the network anyway: a thread there was no faster and held 12-20
  // MiB more (the figures: readAheadFor in @ferry/repository's Repository.ts).
  const imageBytes = layers.reduce((sum, l) => sum + l.record.image.size, 0);
  const threadsPay = imageBytes >= PARALLEL_HASH_MIN_BYTES && availableParallelism() >= 2 && !o.repo.target.streamsReads;
  const hashThreads = o.hashThreads ?? (threadsPay ? 1 : 0);
  const hashPool = hashThreads > 0 ? new HashPool(hashThreads) : undefined;
  const topSource = await o.repo.openImage(top, { hashPool }).catch(async e => {
    await sink.discard();
    throw toDatamoverError(e);
  });
  try {
    chain = await Qcow2Chain.open({
      source: topSource,
      name: top.record.image.key,
      resolveBacking: o.repo.backingResolver(layers, { hashPool }),
      // 2 MiB of L2 tables per layer map 16 GiB of guest each; plenty for a front-to-back walk
      l2CacheBytes: 2 * 1024 * 1024,
      passphrase: o.passphrase,
    }).catch(e => {
      throw protectionError(e);
    });
    if (chain.virtualSize !== virtualSize) {
      throw new DatamoverError('INTEGRITY', `image ${top.record.image.key} has virtual size ${chain.virtualSize}, its record says ${virtualSize}`);
    }
    progress.report('write', true);
    const r = await hydrate({
      chain,
      sink,
      // reads and writes in flight (1 MiB each): 4 keep two cores busy, with little memory
      concurrency: o.concurrency ?? 4,
      onProgress: p => {
        progress.bytesWritten = p.doneBytes;
        progress.report('write');
      },
    });
    await sink.close();
    if (o.verifyAfter) {
      progress.report('verify', true);
      await verifyDevice({ repo: o.repo, device: o.device, index: top.record.index, progress });
    }
    const finished = new Date();
    const durationMs = finished.getTime() - started.getTime();
    progress.bytesWritten = virtualSize;
    progress.report('done', true);
    return {
      type: 'result',
      operation: 'volume-restore',
      app: o.app,
      pvc: o.pvc,
      backupId: o.backupId,
      virtualSize,
      chain: layers.map(l => ({
        backupId: l.backupId,
        key: l.record.image.key,
        size: l.record.image.size,
        sums: l.record.image.sums.digest,
      })),
      stats: {
        dataBytes: r.dataBytes,
        zeroBytesWritten: r.zeroBytesWritten,
        zeroBytesSkipped: r.zeroBytesSkipped,
        bytesPerLayer: r.bytesPerLayer,
      },
      verifiedAfter: Boolean(o.verifyAfter),
      timings: {
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs,
        writeMiBps: Math.round((virtualSize / 1048576 / Math.max(durationMs, 1)) * 1000 * 10) / 10,
        processStartedAt: new Date(performance.timeOrigin).toISOString(),
      },
    };
  } catch (e) {
    await sink.discard();
    throw toDatamoverError(e);
  } finally {
    if (chain) await Promise.all(chain.layers.map(l => l.source.close().catch(() => undefined)));
    else await topSource.close().catch(() => undefined);
    await hashPool?.close();
  }
}

/** Reads the device back and compares each cluster with the backup's digest index. */
async function verifyDevice(o: { repo: Repository; device: string; index: ObjectRef; progress: ProgressReporter }) {
  const reader = new IndexReader(verifyingStream(o.index, await o.repo.target.getStream(o.index.key)));
  const h = await reader.readHeader();
  const device = await Device.open({ path: o.device, write: false });
  const zero = new ZeroCheck(h.clusterSize);
  const perChunk = Math.max(1, Math.floor((4 << 20) / h.clusterSize));
  const buf = Buffer.allocUnsafe(perChunk * h.clusterSize);
  const digest = Buffer.alloc(DIGEST_BYTES);
  try {
    for (let first = 0; first < h.clusterCount; first += perChunk) {
      const count = Math.min(perChunk, h.clusterCount - first);
      const want = await reader.take(count);
      const data = await device.read(buf, first * h.clusterSize, Math.min(count * h.clusterSize, h.virtualSize - first * h.clusterSize));
      for (let j = 0; j < count; j++) {
        const s = j * h.clusterSize;
        const e = Math.min(s + h.clusterSize, data.length);
        if (zero.isZero(data, s, e)) digest.fill(0);
        else clusterDigestInto(data, s, e, digest, 0);
        if (digest.compare(want, j * DIGEST_BYTES, (j + 1) * DIGEST_BYTES) !== 0) {
          throw new DatamoverError('INTEGRITY', `restored cluster ${first + j} of ${o.device} differs from the backup's index`);
        }
      }
      o.progress.bytesRead += data.length;
      o.progress.report('verify');
    }
    await reader.finish();
  } finally {
    await device.close();
  }
}
