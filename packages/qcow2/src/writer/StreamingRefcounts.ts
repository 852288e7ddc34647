import { writeU16, writeU64 } from '../codec/bigEndian';
import type { AppendBatcher } from './AppendBatcher';

export const MAX_REFCOUNT = 0xffff;

/**
 * Refcounts of an image whose host clusters may be shared (compressed clusters packed into
 * the same host cluster), written in the same single pass as the data. A host cluster's
 * refcount is the number of things using it: 1 for the header, L1, L2 tables, refcount
 * structures and uncompressed data clusters; for a cluster holding compressed data, the number
 * of compressed clusters whose sectors touch it (qemu's rule, checked by `qemu-img check`).
 *
 * Refcount block k covers host clusters [k·E, (k+1)·E) with E = clusterSize / 2 (16-bit
 * refcounts). Once the append position is past that range, nothing can be added to it any
 * more: the block is appended right away (it lands in a later range, where it counts 1) and
 * its memory reused. So memory is two blocks (a window over ranges k and k + 1), whatever
 * the image size; only the blocks' offsets (8 bytes per E clusters) are kept for the refcount
 * table, which is appended last with the remaining blocks.
 */
export class StreamingRefcounts {
  readonly clusterSize: number;
  private readonly perBlock: number;
  /** Index of the first block not yet appended (the window's first range). */
  private base = 0;
  private readonly counts: Uint16Array;
  private readonly blockOffsets: number[] = [];

  constructor(options: { clusterSize: number }) {
    this.clusterSize = options.clusterSize;
    this.perBlock = options.clusterSize / 2;
    this.counts = new Uint16Array(2 * this.perBlock);
  }

  /** References so far of host cluster `cluster` (it must lie in the window). */
  count(cluster: number): number {
    return this.counts[this.slot(cluster)];
  }

  /** Adds `references` to each of `clusters` host clusters from `first`. */
  add(first: number, clusters = 1, references = 1): void {
    for (let cluster = first; cluster < first + clusters; cluster++) {
      const slot = this.slot(cluster);
      const next = this.counts[slot] + references;
      if (next > MAX_REFCOUNT)
        throw new RangeError(`refcount of host cluster ${cluster} would pass ${MAX_REFCOUNT}`);
      this.counts[slot] = next;
    }
  }

  /**
   * Appends the blocks of every range the position has passed (after padding to the next
   * cluster when the position is inside one: that cluster holds compressed bytes and is
   * counted already).
   */
  async settle(batcher: AppendBatcher): Promise<void> {
    const cs = this.clusterSize;
    while (Math.floor(batcher.position / cs) >= (this.base + 1) * this.perBlock) {
      const tail = batcher.position % cs;
      if (tail !== 0) await batcher.appendZeros(cs - tail);
      const at = batcher.position;
      this.add(at / cs);
      await batcher.append(this.encodeBlock(this.counts.subarray(0, this.perBlock)));
      this.blockOffsets.push(at);
      this.counts.copyWithin(0, this.perBlock);
      this.counts.fill(0, this.perBlock);
      this.base++;
    }
  }

  /**
   * Appends the remaining blocks and the refcount table after everything else (position
   * aligned, {@link settle} done): every cluster from the position on is one of them (refcount
   * 1). Returns where the table is and how many blocks there are in all.
   */
  async finish(batcher: AppendBatcher): Promise<{
    refcountBlocks: number;
    tableCluster: number;
    refcountTableClusters: number;
  }> {
    await this.settle(batcher);
    const cs = this.clusterSize;
    const E = this.perBlock;
    const used = batcher.position / cs;
    let blocks = 0;
    let tableClusters = 0;
    for (;;) {
      const total = used + blocks + tableClusters;
      const needBlocks = Math.ceil(total / E) - this.base;
      const needTable = Math.max(1, Math.ceil(((this.base + needBlocks) * 8) / cs));
      if (needBlocks === blocks && needTable === tableClusters) break;
      blocks = needBlocks;
      tableClusters = needTable;
    }
    const total = used + blocks + tableClusters;
    const block = new Uint16Array(E);
    for (let b = 0; b < blocks; b++) {
      const first = (this.base + b) * E;
      for (let i = 0; i < E; i++) {
        const cluster = first + i;
        // in use before the refcounts, then the refcount blocks and table themselves, then free
        if (cluster < used) block[i] = this.count(cluster);
        else block[i] = cluster < total ? 1 : 0;
      }
      this.blockOffsets.push(batcher.position);
      await batcher.append(this.encodeBlock(block));
    }
    const tableCluster = batcher.position / cs;
    const table = new Uint8Array(cs);
    const perTableCluster = cs / 8;
    for (let t = 0; t < tableClusters; t++) {
      table.fill(0);
      for (let i = 0; i < perTableCluster; i++) {
        const offset = this.blockOffsets[t * perTableCluster + i];
        if (offset === undefined) break;
        writeU64(table, i * 8, offset);
      }
      await batcher.append(table);
    }
    return {
      refcountBlocks: this.blockOffsets.length,
      tableCluster,
      refcountTableClusters: tableClusters,
    };
  }

  private slot(cluster: number): number {
    const slot = cluster - this.base * this.perBlock;
    if (slot < 0 || slot >= this.counts.length)
      throw new RangeError(`host cluster ${cluster} is outside the refcount window`);
    return slot;
  }

  private encodeBlock(counts: Uint16Array): Uint8Array {
    const bytes = new Uint8Array(this.clusterSize);
    for (let i = 0; i < counts.length; i++) if (counts[i]) writeU16(bytes, i * 2, counts[i]);
    return bytes;
  }
}
