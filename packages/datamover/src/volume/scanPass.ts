import { availableParallelism } from 'node:os';
import type { Qcow2Writer } from '@ferry/qcow2';
import { DatamoverError } from '../errors';
import { alignedBuffer } from '../io/alignedBuffer';
import type { Device } from '../io/Device';
import type { ProgressReporter } from '../io/Progress';
import { DIGEST_BYTES } from './clusterIndex';
import { DATA, DigestScanner } from './DigestScanner';
import type { IndexOutput } from './IndexOutput';

/** Bytes per window handed to a scanning thread. */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/** Below this volume size one thread scans: a worker's start costs more than it saves. */
export const PARALLEL_MIN_BYTES = 1024 ** 3;
/** At most this many scanning threads (one per core up to it). */
const MAX_SCAN_THREADS = 4;
/** Bytes of a run of stored clusters read and written at once. */
const RUN_BYTES = 1024 * 1024;

export interface ScanStats {
  bytesRead: number;
  dataClusters: number;
  zeroClusters: number;
  changedClusters: number;
}

/**
 * How many threads scan: one per core (at most 4) for volumes of 1 GiB or more, else one. The
 * calling thread is one of them: it scans while it waits for the window it needs next (no idle
 * core while a worker starts). On an S3 target that thread also carries the uploads; a scan
 * holds its event loop for a few milliseconds per 8 MiB window, and a third thread (workers
 * only) cost more CPU and memory than it saved on two cores (measured: 2.8 against 2.3 CPU s
 * and 190 against 150 MiB for a 4 GiB full backup to the sandbox's S3 server).
 */
export function scanThreads(o: { virtualSize: number; requested?: number }) {
  const cores = availableParallelism();
  const threads =
    o.requested ?? (o.virtualSize >= PARALLEL_MIN_BYTES && cores >= 2 ? Math.min(cores, MAX_SCAN_THREADS) : 1);
  return { workers: Math.max(0, threads - 1), callerScans: true };
}

/**
 * A full pass over the device (no changed ranges): the scanning threads read it and digest
 * every cluster; this thread compares the digests with the parent's index (when there is a
 * parent), appends every digest to the new index, reads back and stores the clusters that
 * changed (runs of adjacent clusters at once), and marks zero the clusters that became zero.
 */
export async function scanPass(o: {
  device: Device;
  writer: Qcow2Writer;
  clusterSize: number;
  virtualSize: number;
  /** The parent's next `count` digests (incremental backups). */
  parentDigests?: (count: number) => Promise<Uint8Array>;
  index: IndexOutput;
  stats: ScanStats;
  progress: ProgressReporter;
  threads?: number;
  signal?: AbortSignal;
  /** Called once, just before the first device read. */
  onFirstRead?: () => void;
}): Promise<{ bytesWritten: number }> {
  const { device, writer, clusterSize: cs, virtualSize, stats } = o;
  const { workers, callerScans } = scanThreads({ virtualSize, requested: o.threads });
  const windowBytes = Math.max(cs, Math.floor(WINDOW_BYTES / cs) * cs);
  o.onFirstRead?.();
  const scanner = new DigestScanner({ fd: device.fd, clusterSize: cs, windowBytes, workers, callerScans, direct: device.direct });
  const run = alignedBuffer(Math.max(RUN_BYTES, cs));
  const perRun = run.length / cs;
  let bytesWritten = 0;
  let nextPost = 0;
  const postAhead = () => {
    while (nextPost < virtualSize && scanner.inFlight < scanner.inFlightLimit) {
      const length = Math.min(windowBytes, virtualSize - nextPost);
      scanner.post(nextPost, length);
      nextPost += length;
    }
  };
  try {
    postAhead();
    for (let offset = 0; offset < virtualSize; offset += windowBytes) {
      // In blocking mode nothing else lets the event loop turn: a signal (SIGTERM) is handled
      // here, and finished background flushes are collected.
      await new Promise(resolve => setImmediate(resolve));
      if (o.signal?.aborted) {
        throw new DatamoverError('INTERRUPTED', `backup of ${device.path} was interrupted; nothing was committed`);
      }
      const length = Math.min(windowBytes, virtualSize - offset);
      const count = Math.ceil(length / cs);
      const first = offset / cs;
      const { codes, digests } = await scanner.take();
      const parent = o.parentDigests ? await o.parentDigests(count) : undefined;
      let runStart = -1;
      let windowWritten = 0; // added to bytesWritten once the window is done
      // Called only with a run pending (an await per cluster costs more than the loop).
      const flush = async (end: number) => {
        const from = runStart * cs;
        const bytes = device.readSync(run, offset + from, Math.min(end * cs, length) - from);
        await writer.writeClusters(first + runStart, bytes);
        windowWritten += bytes.length;
        runStart = -1;
      };
      for (let j = 0; j < count; j++) {
        const at = j * DIGEST_BYTES;
        const unchanged =
          parent !== undefined && Buffer.compare(digests.subarray(at, at + DIGEST_BYTES), parent.subarray(at, at + DIGEST_BYTES)) === 0;
        if (codes[j] === DATA && !unchanged) {
          stats.dataClusters++;
          if (parent) stats.changedClusters++;
          if (runStart < 0) runStart = j;
          else if (j - runStart === perRun) {
            await flush(j);
            runStart = j;
          }
          continue;
        }
        if (runStart >= 0) await flush(j);
        if (!unchanged && parent) {
          // zero now, data in the parent: a zero-flag entry
          await writer.markZero(first + j);
          stats.zeroClusters++;
          stats.changedClusters++;
        }
      }
      if (runStart >= 0) await flush(count);
      bytesWritten += windowWritten;
      await o.index.push(digests.subarray(0, count * DIGEST_BYTES));
      scanner.release();
      stats.bytesRead += length;
      o.progress.bytesRead = stats.bytesRead;
      o.progress.bytesWritten = bytesWritten;
      o.progress.report('read');
      postAhead();
    }
  } finally {
    await scanner.close();
  }
  return { bytesWritten };
}
