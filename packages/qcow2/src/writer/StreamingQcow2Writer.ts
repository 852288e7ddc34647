import type { PositionalSink } from '../io';
import type { ClusterGeometry } from '../format/ClusterGeometry';
import type { CompressionLanes } from '../compress/CompressionLanes';
import {
  compressedClusterSpan,
  compressedLayout,
  encodeCompressedEntry,
} from '../format/compressedEntry';
import { invalidArgument } from '../format/errors';
import { encodeHeaderCluster } from '../format/encodeHeader';
import { encodeAllocatedEntry, encodeZeroEntry } from '../format/tableEntries';
import type { LuksKey } from '../luks/LuksKey';
import { LUKS_SECTOR_BYTES } from '../luks/luksHeader';
import { AppendBatcher } from './AppendBatcher';
import { CompressionQueue } from './CompressionQueue';
import type { Qcow2Writer, Qcow2WriteResult } from './Qcow2Writer';
import { MAX_REFCOUNT, StreamingRefcounts } from './StreamingRefcounts';
import { writeRefcounts } from './writeRefcounts';

/** Bytes encrypted at once into the writer's own buffer (the caller's bytes stay untouched). */
const ENCRYPT_CHUNK_BYTES = 1024 * 1024;
/** Uncompressed clusters held back while compressed bytes fill the current host cluster. */
const DEFERRED_BYTES = 4 * 1024 * 1024;

/**
 * The one-pass writer behind {@link createQcow2Writer}: keeps the current L2 table and the L1
 * table in memory, appends data and full L2 tables through an {@link AppendBatcher}.
 * - Encrypted (`luks`): the LUKS header area is appended first; data clusters are encrypted
 *   with the master key, the IV of each sector being its host sector (file offset / 512).
 * - Compressed (`compressor`): clusters are compressed in the thread pool and stored in
 *   order, packed byte after byte (several may share a host cluster); a cluster that does not
 *   get smaller is stored as it is. Refcounts then vary and are written as the pass goes
 *   ({@link StreamingRefcounts}).
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
  private readonly luks?: LuksKey;
  private encryptionHeader?: { headerOffset: number; headerLength: number };
  private scratch?: Buffer;
  private readonly compressor?: CompressionLanes;
  private readonly queue?: CompressionQueue;
  private readonly refcounts?: StreamingRefcounts;
  /**
   * Clusters that did not get smaller, held back (copied) until the current host cluster
   * is full of compressed bytes: storing each at once would pad that cluster every time.
   */
  private readonly deferred: Array<{ index: number; bytes: Buffer }> = [];
  private l2Index = -1;
  private l2Used = false;
  private nextIndex = 0;
  private dataClusters = 0;
  private compressedClusters = 0;
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
    luks?: LuksKey;
    compressor?: CompressionLanes;
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
    this.luks = options.luks;
    this.compressor = options.compressor;
    if (this.compressor) {
      this.refcounts = new StreamingRefcounts({ clusterSize: cs });
      this.refcounts.add(0, this.headClusters);
      const layout = compressedLayout(this.geometry.clusterBits);
      this.queue = new CompressionQueue({
        compressor: this.compressor,
        clusterSize: cs,
        sink: {
          storeZero: index => this.storeZero(index),
          storeCompressed: (index, cluster, compressed) =>
            compressed && compressed.length < cs
              ? this.storeCompressed(index, compressed, layout)
              : this.storeIncompressible(index, cluster),
        },
      });
    }
  }

  /** Appends the LUKS header area (header and key material, zero padded to clusters). */
  async writeEncryptionHeader(): Promise<void> {
    if (!this.luks) return;
    const cs = this.geometry.clusterSize;
    const area = Buffer.alloc(this.geometry.clustersFor(this.luks.areaBytes) * cs);
    area.set(this.luks.headerBytes, 0);
    for (const part of this.luks.material) area.set(part.bytes, part.offset);
    this.encryptionHeader = {
      headerOffset: this.batcher.position,
      headerLength: this.luks.areaBytes,
    };
    await this.batcher.append(area);
  }

  writeCluster(index: number, data: Uint8Array): Promise<void> {
    return this.writeClusters(index, data);
  }

  async writeClusters(firstIndex: number, data: Uint8Array): Promise<void> {
    const { clusterSize } = this.geometry;
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
    this.nextIndex = firstIndex + count;
    this.dataClusters += count;
    if (this.queue) {
      for (let i = 0; i < count; i++) {
        const at = i * clusterSize;
        await this.queue.add(firstIndex + i, data.subarray(at, at + clusterSize));
      }
      return;
    }
    await this.storeClusters(firstIndex, data);
  }

  async markZero(index: number): Promise<void> {
    this.claim(index, 1, 'mark zero');
    this.nextIndex = index + 1;
    if (!this.backing) return; // unallocated already reads as zeros in a base image
    this.zeroClusters++;
    if (this.queue) await this.queue.addZero(index);
    else await this.storeZero(index);
  }

  async finish(): Promise<Qcow2WriteResult> {
    this.requireOpen('finish');
    this.state = 'finished';
    try {
      await this.queue?.flush();
      this.compressor?.close();
      await this.storeDeferred();
      await this.flushL2();
      const cs = this.geometry.clusterSize;
      let refcounts: {
        refcountBlocks: number;
        tableCluster: number;
        refcountTableClusters: number;
      };
      if (this.refcounts) {
        await this.alignToCluster();
        refcounts = await this.refcounts.finish(this.batcher);
      } else {
        refcounts = await writeRefcounts({
          batcher: this.batcher,
          usedClusters: this.batcher.position / cs,
          clusterSize: cs,
        });
      }
      await this.batcher.flush();
      const head = new Uint8Array(this.headClusters * cs);
      head.set(
        encodeHeaderCluster({
          geometry: this.geometry,
          l1TableOffset: cs,
          refcountTableOffset: refcounts.tableCluster * cs,
          refcountTableClusters: refcounts.refcountTableClusters,
          backing: this.backing,
          compressionType: this.compressor?.type,
          encryption: this.encryptionHeader,
        }),
      );
      head.set(this.l1, cs);
      if (this.blocking && this.sink.writeSync) this.sink.writeSync(head, 0);
      else await this.sink.write(head, 0);
      const { size } = await this.sink.commit();
      return {
        imageSize: size,
        dataClusters: this.dataClusters,
        compressedClusters: this.compressedClusters,
        zeroClusters: this.zeroClusters,
        layout: {
          clusterSize: cs,
          headClusters: this.headClusters,
          l1TableOffset: cs,
          l2Tables: this.l2Tables,
          refcountBlocks: refcounts.refcountBlocks,
          refcountTableOffset: refcounts.tableCluster * cs,
          refcountTableClusters: refcounts.refcountTableClusters,
          encryptionHeader: this.encryptionHeader,
        },
      };
    } catch (error) {
      this.compressor?.close();
      await this.sink.abort().catch(() => undefined);
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    this.state = 'aborted';
    this.queue?.discard();
    this.compressor?.close();
    await this.batcher.flush().catch(() => undefined);
    await this.sink.abort();
  }

  /** Stores whole clusters (the last may be partial) uncompressed from `firstIndex`, in runs per L2 table. */
  private async storeClusters(firstIndex: number, data: Uint8Array): Promise<void> {
    const { clusterSize, l2Entries } = this.geometry;
    const count = Math.ceil(data.length / clusterSize);
    let done = 0;
    while (done < count) {
      const index = firstIndex + done;
      await this.selectL2(Math.floor(index / l2Entries));
      const inTable = Math.min(count - done, l2Entries - (index % l2Entries));
      await this.alignToCluster();
      if (this.refcounts) await this.refcounts.settle(this.batcher);
      const start = this.batcher.position;
      for (let i = 0, host = start; i < inTable; i++, host += clusterSize) {
        encodeAllocatedEntry(this.l2, (index + i) % l2Entries, host);
      }
      this.refcounts?.add(start / clusterSize, inTable);
      this.l2Used = true;
      const from = done * clusterSize;
      const to = Math.min(data.length, from + inTable * clusterSize);
      if (this.luks) await this.appendEncrypted(data.subarray(from, to), start);
      else {
        await this.batcher.append(data.subarray(from, to));
        const tail = (to - from) % clusterSize;
        if (tail !== 0) await this.batcher.appendZeros(clusterSize - tail);
      }
      done += inTable;
    }
  }

  /**
   * A cluster that did not get smaller: stored at once when the position is at a cluster
   * boundary, else held back (up to 4 MiB) so that compressed bytes keep filling the current
   * host cluster, then stored together after one padding.
   */
  private async storeIncompressible(index: number, cluster: Buffer): Promise<void> {
    const cs = this.geometry.clusterSize;
    await this.selectL2(Math.floor(index / this.geometry.l2Entries));
    if (this.deferred.length === 0 && this.batcher.position % cs === 0) {
      await this.storeClusters(index, cluster);
      return;
    }
    this.deferred.push({ index, bytes: Buffer.from(cluster) });
    if (this.deferred.length * cs >= DEFERRED_BYTES) await this.storeDeferred();
  }

  /** Stores the held-back clusters (they belong to the current L2 table). */
  private async storeDeferred(): Promise<void> {
    const held = this.deferred.splice(0);
    for (const { index, bytes } of held) await this.storeClusters(index, bytes);
  }

  /** Stores compressed bytes right after the previous ones (a new host cluster only when full). */
  private async storeCompressed(
    index: number,
    compressed: Buffer,
    layout: ReturnType<typeof compressedLayout>,
  ): Promise<void> {
    const { clusterSize, l2Entries } = this.geometry;
    const refcounts = this.refcounts!;
    await this.selectL2(Math.floor(index / l2Entries));
    await refcounts.settle(this.batcher);
    const span = () =>
      compressedClusterSpan({
        hostOffset: this.batcher.position,
        bytes: compressed.length,
        clusterSize,
      });
    let { first, last } = span();
    if (refcounts.count(first) >= MAX_REFCOUNT) {
      await this.alignToCluster(); // that host cluster is shared by as many as refcounts allow
      ({ first, last } = span());
    }
    encodeCompressedEntry({
      table: this.l2,
      index: index % l2Entries,
      layout,
      hostOffset: this.batcher.position,
      bytes: compressed.length,
    });
    refcounts.add(first, last - first + 1);
    this.l2Used = true;
    this.compressedClusters++;
    await this.batcher.append(compressed);
  }

  private async storeZero(index: number): Promise<void> {
    await this.selectL2(Math.floor(index / this.geometry.l2Entries));
    encodeZeroEntry(this.l2, index % this.geometry.l2Entries);
    this.l2Used = true;
  }

  /**
   * Appends `data` (whole clusters but maybe the last) encrypted, zero padded to clusters:
   * each 512-byte sector with its host sector number, from `hostOffset`.
   */
  private async appendEncrypted(data: Uint8Array, hostOffset: number): Promise<void> {
    const cs = this.geometry.clusterSize;
    const chunkBytes = Math.max(cs, ENCRYPT_CHUNK_BYTES);
    this.scratch ??= Buffer.allocUnsafe(chunkBytes);
    for (let at = 0; at < data.length; at += chunkBytes) {
      const piece = data.subarray(at, Math.min(data.length, at + chunkBytes));
      const padded = Math.ceil(piece.length / cs) * cs;
      const chunk = this.scratch.subarray(0, padded);
      chunk.set(piece);
      chunk.fill(0, piece.length);
      this.luks!.cipher.encrypt(chunk, (hostOffset + at) / LUKS_SECTOR_BYTES);
      await this.batcher.append(chunk);
    }
  }

  /** Pads the appends to the next cluster boundary (after compressed bytes). */
  private async alignToCluster(): Promise<void> {
    const cs = this.geometry.clusterSize;
    const tail = this.batcher.position % cs;
    if (tail !== 0) await this.batcher.appendZeros(cs - tail);
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
    await this.storeDeferred(); // entries of the table being left
    await this.flushL2();
    this.l2Index = l2Index;
  }

  private async flushL2(): Promise<void> {
    if (this.l2Index >= 0 && this.l2Used) {
      await this.alignToCluster();
      if (this.refcounts) await this.refcounts.settle(this.batcher);
      const at = this.batcher.position;
      encodeAllocatedEntry(this.l1, this.l2Index, at);
      this.refcounts?.add(at / this.geometry.clusterSize);
      await this.batcher.append(this.l2);
      this.l2Tables++;
      this.l2.fill(0);
    }
    this.l2Used = false;
  }
}
