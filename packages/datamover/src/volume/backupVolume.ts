import { createQcow2Writer, type Qcow2Writer } from '@ferry/qcow2';
import {
  layout,
  verifyingStream,
  type ObjectRef,
  type Repository,
  type VolumeRecord,
} from '@ferry/repository';
import { DatamoverError, toDatamoverError } from '../errors';
import { AsyncQueue } from '../io/AsyncQueue';
import { Device } from '../io/Device';
import { ProgressReporter, type ProgressSink } from '../io/Progress';
import { type ByteRange } from './changedRanges';
import { changedRangesPass } from './changedRangesPass';
import { IndexReader, encodeIndexHeader } from './clusterIndex';
import { IndexOutput } from './IndexOutput';
import { scanPass } from './scanPass';
import { encryptionFor, protectionError, recordProtection, type VolumeProtection } from './protection';

export interface VolumeBackupOptions extends VolumeProtection {
  repo: Repository;
  app: string;
  pvc: string;
  backupId: string;
  /** Makes an incremental backup: an overlay on this committed (or kept) backup's image. */
  parentBackupId?: string;
  /** Block device or file to read. */
  device: string;
  /** Only these byte ranges changed since the parent (CBT); needs a parent. */
  changedRanges?: ByteRange[];
  clusterSize?: number;
  /** Bytes read from the device at a time by the changed-ranges pass (whole clusters); 4 MiB. */
  chunkBytes?: number;
  /** Threads scanning the device (full passes); by default one per core for volumes of 1 GiB or more. */
  scanThreads?: number;
  progress?: ProgressSink;
  /** Stops the backup between chunks (SIGTERM): the upload is aborted, nothing stays. */
  signal?: AbortSignal;
}

export interface VolumeBackupResult {
  type: 'result';
  operation: 'volume-backup';
  app: string;
  pvc: string;
  backupId: string;
  kind: 'full' | 'incremental';
  parentBackupId: string | null;
  virtualSize: number;
  clusterSize: number;
  image: { key: string; size: number; sums: ObjectRef };
  index: ObjectRef;
  /** The volume record to list in the backup's manifest at commit. */
  record: ObjectRef;
  stats: VolumeRecord['stats'] & { storedBytes: number };
  timings: {
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    readMiBps: number;
    /** When this process started (`performance.timeOrigin`): a Job's start-up is startedAt minus it. */
    processStartedAt: string;
    /** Milliseconds from the process's start to the first device read. */
    firstReadMs?: number;
  };
}

const DEFAULT_CLUSTER = 64 * 1024;

/**
 * Reads a volume once, front to back, and writes a QCOW2 image straight into the repository:
 * a full image (zero clusters left out) or an overlay holding only clusters whose digest
 * differs from the parent's index, which is streamed alongside the device (constant memory).
 * Writes the new digest index and the volume record; the backup's manifest (commit) is the
 * caller's step. On any failure nothing becomes visible: the image upload is aborted.
 */
export async function backupVolume(o: VolumeBackupOptions): Promise<VolumeBackupResult> {
  const started = new Date();
  const clusterSize = o.clusterSize ?? DEFAULT_CLUSTER;
  const chunkBytes = Math.max(clusterSize, Math.floor((o.chunkBytes ?? 4 << 20) / clusterSize) * clusterSize);
  if (o.changedRanges && !o.parentBackupId) {
    throw new DatamoverError('USAGE', 'changed ranges need a parent backup (--parent)');
  }
  const progress = new ProgressReporter({ operation: 'volume-backup', bytesTotal: 0, sink: o.progress });
  progress.report('prepare', true);
  await o.repo.assertNotCommitted(o.app, o.backupId);

  const device = await Device.open({ path: o.device, write: false, direct: true });
  let writer: Qcow2Writer | undefined;
  const indexQueue = new AsyncQueue(8);
  let indexUpload: Promise<ObjectRef> | undefined;
  let parentIndex: IndexReader | undefined;
  try {
    const virtualSize = device.size;
    if (virtualSize % 512 !== 0) {
      throw new DatamoverError('USAGE', `device ${o.device} is ${virtualSize} bytes, not a multiple of 512`);
    }
    progress.total = virtualSize;
    const clusterCount = Math.ceil(virtualSize / clusterSize);

    let parent: { backupId: string; record: ObjectRef } | null = null;
    let parentLayer;
    if (o.parentBackupId) {
      const opened = await openParent(o, virtualSize, clusterSize);
      parent = { backupId: o.parentBackupId, record: opened.recordRef };
      parentIndex = opened.index;
      parentLayer = opened.layer;
    }
    const encryption = await encryptionFor({ repo: o.repo, parent: parentLayer, passphrase: o.passphrase });

    const { key: imageKey, sink } = await o.repo.openImageSink({
      app: o.app,
      pvc: o.pvc,
      backupId: o.backupId,
      sizeHint: virtualSize,
    });
    // A local file sink writes on this thread (no thread-pool round trip per write): this
    // process does nothing else while it backs up.
    const blocking = typeof sink.writeSync === 'function';
    writer = await createQcow2Writer({
      sink,
      blocking,
      virtualSize,
      clusterSize,
      backing: parent ? { name: layout.backingName(parent.backupId), format: 'qcow2' } : undefined,
      compression: o.compression,
      encryption,
    }).catch(async e => {
      await sink.abort().catch(() => undefined);
      throw protectionError(e);
    });
    indexUpload = o.repo.putStreamObject(layout.index(o.app, o.pvc, o.backupId), indexQueue);
    indexUpload.catch(e => indexQueue.fail(e));
    await indexQueue.push(encodeIndexHeader({ clusterSize, virtualSize, clusterCount }));

    const stats = { bytesRead: 0, clusters: clusterCount, dataClusters: 0, zeroClusters: 0, changedClusters: 0 };
    const index = new IndexOutput(indexQueue);
    let firstReadMs: number | undefined;
    const onFirstRead = () => (firstReadMs = performance.now());
    if (o.changedRanges) {
      await changedRangesPass({
        ranges: o.changedRanges,
        device,
        writer,
        clusterSize,
        virtualSize,
        chunkBytes,
        parentDigests: count => takeParent(parentIndex!, count),
        index,
        stats,
        progress,
        signal: o.signal,
        onFirstRead,
      });
    } else {
      await scanPass({
        device,
        writer,
        clusterSize,
        virtualSize,
        parentDigests: parentIndex ? count => takeParent(parentIndex!, count) : undefined,
        index,
        stats,
        progress,
        threads: o.scanThreads,
        signal: o.signal,
        onFirstRead,
      });
    }
    await index.flush();
    if (parentIndex) await finishParent(parentIndex);
    indexQueue.end();
    progress.report('finish', true);
    const written = await writer.finish();
    const sumsRef = await o.repo.putObject(layout.sums(o.app, o.pvc, o.backupId), sink.sums());
    const indexRef = await indexUpload;
    const finished = new Date();
    const record: VolumeRecord = {
      formatVersion: 1,
      app: o.app,
      pvc: o.pvc,
      backupId: o.backupId,
      kind: parent ? 'incremental' : 'full',
      parent,
      virtualSize,
      clusterSize,
      image: { key: imageKey, size: written.imageSize, blockSize: o.repo.info.imageDigestBlockSize, sums: sumsRef },
      index: indexRef,
      stats: { ...stats, durationMs: finished.getTime() - started.getTime() },
      source: { changedRanges: Boolean(o.changedRanges) },
      protection: recordProtection({ repo: o.repo, compression: o.compression, encryption, parent: parentLayer, passphrase: o.passphrase }),
      createdAt: finished.toISOString(),
    };
    const recordRef = await o.repo.putRecord(record);
    progress.bytesWritten = written.imageSize;
    progress.report('done', true);
    const durationMs = finished.getTime() - started.getTime();
    return {
      type: 'result',
      operation: 'volume-backup',
      app: o.app,
      pvc: o.pvc,
      backupId: o.backupId,
      kind: record.kind,
      parentBackupId: parent?.backupId ?? null,
      virtualSize,
      clusterSize,
      image: { key: imageKey, size: written.imageSize, sums: sumsRef },
      index: indexRef,
      record: recordRef,
      stats: { ...record.stats, storedBytes: written.imageSize },
      timings: {
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs,
        readMiBps: Math.round((stats.bytesRead / 1048576 / Math.max(durationMs, 1)) * 1000 * 10) / 10,
        processStartedAt: new Date(performance.timeOrigin).toISOString(),
        firstReadMs: firstReadMs === undefined ? undefined : Math.round(firstReadMs * 10) / 10,
      },
    };
  } catch (e) {
    const err = toDatamoverError(e);
    await writer?.abort().catch(() => undefined);
    indexQueue.fail(err);
    await indexUpload?.catch(() => undefined);
    throw err;
  } finally {
    await device.close();
  }
}

async function openParent(o: VolumeBackupOptions, virtualSize: number, clusterSize: number) {
  const parentId = o.parentBackupId!;
  const hint = 'run a full backup instead (omit --parent)';
  let layer;
  try {
    layer = await o.repo.readVolumeOf(o.app, o.pvc, parentId);
  } catch (e) {
    const inner = toDatamoverError(e);
    if (inner.code === 'TARGET_UNREACHABLE' || inner.code === 'CREDENTIALS_INVALID') throw inner;
    throw new DatamoverError('PARENT_UNUSABLE', `parent backup ${parentId} of ${o.app}/${o.pvc} is missing or unreadable: ${inner.message}`, { cause: e, hint });
  }
  const rec = layer.record;
  if (rec.virtualSize !== virtualSize || rec.clusterSize !== clusterSize) {
    throw new DatamoverError(
      'PARENT_UNUSABLE',
      `parent backup ${parentId} has ${rec.virtualSize} bytes in ${rec.clusterSize}-byte clusters, the volume now has ${virtualSize} bytes in ${clusterSize}-byte clusters`,
      { hint },
    );
  }
  const index = new IndexReader(verifyingStream(rec.index, await o.repo.target.getStream(rec.index.key)));
  try {
    const h = await index.readHeader();
    if (h.clusterSize !== clusterSize || h.virtualSize !== virtualSize) {
      throw new Error(`header says ${h.virtualSize} bytes in ${h.clusterSize}-byte clusters`);
    }
  } catch (e) {
    throw new DatamoverError('PARENT_UNUSABLE', `digest index of parent backup ${parentId} is unusable: ${(e as Error).message}`, { cause: e, hint });
  }
  return { recordRef: layer.recordRef, index, layer };
}

async function takeParent(index: IndexReader, count: number): Promise<Uint8Array> {
  try {
    return await index.take(count);
  } catch (e) {
    throw new DatamoverError('PARENT_UNUSABLE', `digest index of the parent backup is unusable: ${(e as Error).message}`, { cause: e, hint: 'run a full backup instead (omit --parent)' });
  }
}

async function finishParent(index: IndexReader): Promise<void> {
  try {
    await index.finish();
  } catch (e) {
    throw new DatamoverError('PARENT_UNUSABLE', `digest index of the parent backup is corrupt: ${(e as Error).message}`, { cause: e, hint: 'run a full backup instead (omit --parent)' });
  }
}
