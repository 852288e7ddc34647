import { invalidArgument } from './errors';

/**
 * Value object: how a virtual disk of `virtualSize` bytes maps onto clusters of `2^clusterBits`
 * bytes, L2 tables of `clusterSize / 8` entries and an L1 table. All derived sizes are computed
 * once here so that the writer, the reader and hydrate agree on them.
 */
export class ClusterGeometry {
  readonly clusterBits: number;
  readonly clusterSize: number;
  readonly virtualSize: number;
  /** Entries per L2 table. */
  readonly l2Entries: number;
  /** Guest bytes covered by one L2 table. */
  readonly l2Span: number;
  /** Guest clusters in the virtual disk (the last one may be partial). */
  readonly clusterCount: number;
  /** L1 entries needed for the virtual disk. */
  readonly l1Entries: number;

  constructor(options: { clusterBits: number; virtualSize: number }) {
    const { clusterBits, virtualSize } = options;
    if (!Number.isInteger(clusterBits) || clusterBits < 9 || clusterBits > 21) {
      throw invalidArgument(`cluster bits ${clusterBits} out of range 9..21`);
    }
    if (!Number.isSafeInteger(virtualSize) || virtualSize < 0) {
      throw invalidArgument(
        `virtual size ${virtualSize} is not a non-negative safe integer`,
      );
    }
    this.clusterBits = clusterBits;
    this.clusterSize = 2 ** clusterBits;
    this.virtualSize = virtualSize;
    this.l2Entries = this.clusterSize / 8;
    this.l2Span = this.clusterSize * this.l2Entries;
    this.clusterCount = Math.ceil(virtualSize / this.clusterSize);
    this.l1Entries = Math.ceil(virtualSize / this.l2Span);
  }

  static fromClusterSize(options: {
    clusterSize: number;
    virtualSize: number;
  }): ClusterGeometry {
    const bits = Math.log2(options.clusterSize);
    if (!Number.isInteger(bits)) {
      throw invalidArgument(
        `cluster size ${options.clusterSize} is not a power of two`,
      );
    }
    return new ClusterGeometry({
      clusterBits: bits,
      virtualSize: options.virtualSize,
    });
  }

  /** Number of clusters needed to hold `bytes` bytes. */
  clustersFor(bytes: number): number {
    return Math.ceil(bytes / this.clusterSize);
  }

  /** Guest byte offset of a guest cluster. */
  offsetOf(clusterIndex: number): number {
    return clusterIndex * this.clusterSize;
  }

  /** Bytes of the guest cluster that lie inside the virtual disk (less than a cluster at the end). */
  bytesInCluster(clusterIndex: number): number {
    return Math.min(
      this.clusterSize,
      this.virtualSize - clusterIndex * this.clusterSize,
    );
  }
}
