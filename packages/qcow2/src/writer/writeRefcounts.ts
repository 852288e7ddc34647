import { writeU16, writeU64 } from '../codec/bigEndian';
import type { AppendBatcher } from './AppendBatcher';
import { planRefcounts, RefcountLayout } from './refcountLayout';

/**
 * Appends the refcount blocks and the refcount table after `usedClusters` clusters: every
 * cluster of the image, these structures included, gets refcount 1. Needs one cluster of
 * memory whatever the image size.
 */
export async function writeRefcounts(options: {
  batcher: AppendBatcher;
  usedClusters: number;
  clusterSize: number;
}): Promise<RefcountLayout> {
  const { batcher, clusterSize } = options;
  const layout = planRefcounts({
    usedClusters: options.usedClusters,
    clusterSize,
  });
  const perBlock = clusterSize / 2;
  const block = new Uint8Array(clusterSize);
  for (let i = 0; i < perBlock; i++) writeU16(block, i * 2, 1);
  for (let b = 0; b < layout.refcountBlocks; b++) {
    const counted = Math.min(perBlock, layout.totalClusters - b * perBlock);
    if (counted < perBlock) block.fill(0, counted * 2);
    await batcher.append(block);
  }
  const perTableCluster = clusterSize / 8;
  const table = new Uint8Array(clusterSize);
  for (let t = 0; t < layout.refcountTableClusters; t++) {
    table.fill(0);
    for (let i = 0; i < perTableCluster; i++) {
      const b = t * perTableCluster + i;
      if (b >= layout.refcountBlocks) break;
      writeU64(table, i * 8, (layout.firstBlockCluster + b) * clusterSize);
    }
    await batcher.append(table);
  }
  return layout;
}
