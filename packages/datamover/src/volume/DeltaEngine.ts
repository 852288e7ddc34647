import type { Qcow2Writer } from '@ferry/qcow2';
import { DIGEST_BYTES, clusterDigestInto } from './clusterIndex';
import type { IndexOutput } from './IndexOutput';
import { ZeroCheck } from './ZeroCheck';

/**
 * Per chunk: digest every cluster, decide what the image stores, append to the new index. Used
 * for the changed-ranges (CBT) path, which reads only some clusters; full scans use `scanPass`.
 */
export class DeltaEngine {
  private readonly zero: ZeroCheck;
  bytesWritten = 0;

  constructor(
    private readonly o: {
      writer: Qcow2Writer;
      clusterSize: number;
      virtualSize: number;
      stats: { dataClusters: number; zeroClusters: number; changedClusters: number };
      index: IndexOutput;
    },
  ) {
    this.zero = new ZeroCheck(o.clusterSize);
  }

  async chunk(c: {
    first: number;
    count: number;
    data: Uint8Array;
    parentDigests?: Uint8Array;
    touched?: Array<[number, number]>;
  }): Promise<void> {
    const cs = this.o.clusterSize;
    const digests = Buffer.alloc(c.count * DIGEST_BYTES);
    let runStart = -1;
    const flushRun = async (end: number) => {
      if (runStart < 0) return;
      const bytes = Math.min(end * cs, this.o.virtualSize - c.first * cs);
      await this.o.writer.writeClusters(c.first + runStart, c.data.subarray(runStart * cs, bytes));
      this.bytesWritten += bytes - runStart * cs;
      runStart = -1;
    };
    let t = 0;
    for (let j = 0; j < c.count; j++) {
      const at = j * DIGEST_BYTES;
      if (c.touched) {
        while (t < c.touched.length && c.touched[t][1] <= c.first + j) t++;
        const inRun = t < c.touched.length && c.touched[t][0] <= c.first + j;
        if (!inRun) {
          await flushRun(j);
          digests.set(c.parentDigests!.subarray(at, at + DIGEST_BYTES), at);
          continue;
        }
      }
      const start = j * cs;
      const end = Math.min(start + cs, this.o.virtualSize - c.first * cs);
      const isZero = this.zero.isZero(c.data, start, end);
      if (!isZero) clusterDigestInto(c.data, start, end, digests, at);
      const parentHad = c.parentDigests?.subarray(at, at + DIGEST_BYTES);
      const unchanged = parentHad !== undefined && digests.compare(parentHad, 0, DIGEST_BYTES, at, at + DIGEST_BYTES) === 0;
      if (unchanged) {
        await flushRun(j);
        continue;
      }
      if (isZero) {
        await flushRun(j);
        if (parentHad) {
          await this.o.writer.markZero(c.first + j); // parent had data here: a zero-flag entry
          this.o.stats.zeroClusters++;
          this.o.stats.changedClusters++;
        }
        continue;
      }
      if (runStart < 0) runStart = j;
      this.o.stats.dataClusters++;
      if (parentHad) this.o.stats.changedClusters++;
    }
    await flushRun(c.count);
    await this.o.index.push(digests);
  }
}
