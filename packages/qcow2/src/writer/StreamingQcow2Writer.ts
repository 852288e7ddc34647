import type { PositionalSink } from '../io';
import type { ClusterGeometry } from '../format/ClusterGeometry';
import { invalidArgument } from '../format/errors';
import { encodeHeaderCluster } from '../format/header';
import { encodeAllocatedEntry, encodeZeroEntry } from '../format/tableEntries';
import { AppendBatcher } from './AppendBatcher';
import type { Qcow2Writer, Qcow2WriteResult } from './Qcow2Writer';
import { writeRefcounts } from './writeRefcounts';

/**
 * The one-pass writer behind {@link createQcow2Writer}: keeps the current L2 table and the L1
 * table in memory, appends data and full L2 tables through an {@link AppendBatcher}.
 */
export class StreamingQcow2Writer implements Qcow2Writer {
  readonly geometry: ClusterGeometry;
  private readonly sink: PositionalSink;
  private readonly backing?: { name: string; format: string };
  private readonly blocking: boolean;
  private readonly headClusters: number;
  private readonly batcher: AppendBatcher;
  private readonly l1: Uint8Array;
  private readonly l2: Uint8Array;
  private l2Index = -1;
  private l2Used = false;
  private nextIndex = 0;
  private dataClusters = 0;
  private zeroClusters = 0;
  private l2Tables = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(options: {
    sink: PositionalSink;
    geometry: ClusterGeometry;
    backing?: { name: string; format: string };
    headClusters: number;
    batchBytes: number;
    blocking?: boolean;
  }) {
    this.sink = options.sink;
    this.geometry = options.geometry;
    this.backing = options.backing;
    this.blocking = options.blocking ?? false;
    this.headClusters = options.headClusters;
    const cs = this.geometry.clusterSize;
    this.batcher = new AppendBatcher({
      sink: this.sink,
      start: this.headClusters * cs,
      batchBytes: options.batchBytes,
      blocking: options.blocking,
    });
    this.l1 = new Uint8Array(this.geometry.l1Entries * 8);
    this.l2 = new Uint8Array(cs);
  }

  writeCluster(index: number, data: Uint8Array): Promise<void> {
    return this.writeClusters(index, data);
  }

  async writeClusters(firstIndex: number, data: Uint8Array): Promise<void> {
    const { clusterSize, l2Entries } = this.geometry;
    const count = Math.ceil(data.length / clusterSize);
    this.claim(firstIndex, count, 'write');
    const lastLength = data.length - (count - 1) * clusterSize;
    if (
      lastLength !== clusterSize &&
      firstIndex + count !== this.geometry.clusterCount
    ) {
      throw invalidArgument(
        `data for clusters from ${firstIndex} is ${data.length} bytes, not whole clusters`,
      );
    }
    let done = 0;
    while (done < count) {
      const index = firstIndex + done;
      await this.selectL2(Math.floor(index / l2Entries));
      const inTable = Math.min(count - done, l2Entries - (index % l2Entries));
      let host = this.batcher.position;
      for (let i = 0; i < inTable; i++, host += clusterSize) {
        encodeAllocatedEntry(this.l2, (index + i) % l2Entries, host);
      }
      this.l2Used = true;
      const from = done * clusterSize;
      const to = Math.min(data.length, from + inTable * clusterSize);
      await this.batcher.append(data.subarray(from, to));
      done += inTable;
    }
    if (lastLength !== clusterSize)
      await this.batcher.appendZeros(clusterSize - lastLength);
    this.dataClusters += count;
    this.nextIndex = firstIndex + count;
  }

  async markZero(index: number): Promise<void> {
    this.claim(index, 1, 'mark zero');
    this.nextIndex = index + 1;
    if (!this.backing) return; // unallocated already reads as zeros in a base image
    await this.selectL2(Math.floor(index / this.geometry.l2Entries));
    encodeZeroEntry(this.l2, index % this.geometry.l2Entries);
    this.l2Used = true;
    this.zeroClusters++;
  }

  async finish(): Promise<Qcow2WriteResult> {
    this.requireOpen('finish');
    this.state = 'finished';
    try {
      await this.flushL2();
      const cs = this.geometry.clusterSize;
      const usedClusters = this.batcher.position / cs;
      const refcounts = await writeRefcounts({
        batcher: this.batcher,
        usedClusters,
        clusterSize: cs,
      });
      await this.batcher.flush();
      const head = new Uint8Array(this.headClusters * cs);
      head.set(
        encodeHeaderCluster({
          geometry: this.geometry,
          l1TableOffset: cs,
          refcountTableOffset: refcounts.tableCluster * cs,
          refcountTableClusters: refcounts.refcountTableClusters,
          backing: this.backing,
        }),
      );
      head.set(this.l1, cs);
      if (this.blocking && this.sink.writeSync) this.sink.writeSync(head, 0);
      else await this.sink.write(head, 0);
      const { size } = await this.sink.commit();
      return {
        imageSize: size,
        dataClusters: this.dataClusters,
        zeroClusters: this.zeroClusters,
        layout: {
          clusterSize: cs,
          headClusters: this.headClusters,
          l1TableOffset: cs,
          l2Tables: this.l2Tables,
          refcountBlocks: refcounts.refcountBlocks,
          refcountTableOffset: refcounts.tableCluster * cs,
          refcountTableClusters: refcounts.refcountTableClusters,
        },
      };
    } catch (error) {
      await this.sink.abort().catch(() => undefined);
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    this.state = 'aborted';
    await this.batcher.flush().catch(() => undefined);
    await this.sink.abort();
  }

  private claim(index: number, count: number, what: string): void {
    this.requireOpen(what);
    if (!Number.isSafeInteger(index) || index < this.nextIndex) {
      throw invalidArgument(
        `cannot ${what} cluster ${index}: clusters must come in increasing order (next is ${this.nextIndex})`,
      );
    }
    if (count < 1 || index + count > this.geometry.clusterCount) {
      throw invalidArgument(
        `cannot ${what} clusters ${index}..${index + count - 1}: the disk has ${
          this.geometry.clusterCount
        } clusters`,
      );
    }
  }

  private requireOpen(what: string): void {
    if (this.state !== 'open')
      throw invalidArgument(`cannot ${what}: the writer is ${this.state}`);
  }

  /** Makes `l2Index` the current L2 table, appending the previous one if it holds entries. */
  private async selectL2(l2Index: number): Promise<void> {
    if (l2Index === this.l2Index) return;
    await this.flushL2();
    this.l2Index = l2Index;
  }

  private async flushL2(): Promise<void> {
    if (this.l2Index >= 0 && this.l2Used) {
      encodeAllocatedEntry(this.l1, this.l2Index, this.batcher.position);
      await this.batcher.append(this.l2);
      this.l2Tables++;
      this.l2.fill(0);
    }
    this.l2Used = false;
  }
}
