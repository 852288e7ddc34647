/**
 * Where the refcount structures of a freshly written image go. Every cluster the writer
 * allocates (header, L1, data, L2 tables, the refcount blocks and table themselves) is used
 * exactly once and they are contiguous from offset 0, so each of the first `totalClusters`
 * clusters has refcount 1 and every later one 0.
 */
export interface RefcountLayout {
  /** Clusters in the whole image, refcount structures included. */
  totalClusters: number;
  refcountBlocks: number;
  refcountTableClusters: number;
  /** Cluster index of the first refcount block; the table follows the blocks. */
  firstBlockCluster: number;
  tableCluster: number;
}

/** 16-bit refcounts: `clusterSize / 2` entries per block; 8-byte table entries. */
export function planRefcounts(options: {
  usedClusters: number;
  clusterSize: number;
}): RefcountLayout {
  const { usedClusters, clusterSize } = options;
  const entriesPerBlock = clusterSize / 2;
  const entriesPerTableCluster = clusterSize / 8;
  let blocks = 0;
  let tableClusters = 0;
  // Each round can only grow; converges in a few steps (blocks themselves need refcounts).
  for (;;) {
    const total = usedClusters + blocks + tableClusters;
    const needBlocks = Math.ceil(total / entriesPerBlock);
    const needTable = Math.max(
      1,
      Math.ceil(needBlocks / entriesPerTableCluster),
    );
    if (needBlocks === blocks && needTable === tableClusters) break;
    blocks = needBlocks;
    tableClusters = needTable;
  }
  return {
    totalClusters: usedClusters + blocks + tableClusters,
    refcountBlocks: blocks,
    refcountTableClusters: tableClusters,
    firstBlockCluster: usedClusters,
    tableCluster: usedClusters + blocks,
  };
}
