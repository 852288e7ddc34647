import type { ClusterCompressor } from '../compress/clusterCodec';

/** What the queue hands back, in the order the clusters were given. */
export interface CompressionSink {
  /** A cluster and its compressed bytes (maybe not smaller: the sink decides). */
  storeCompressed(index: number, cluster: Buffer, compressed: Buffer): Promise<void>;
  storeZero(index: number): Promise<void>;
}

type Job =
  | { kind: 'data'; index: number; cluster: Buffer; compressed: Promise<Buffer> }
  | { kind: 'zero'; index: number };

/** Bytes of clusters compressing at once (several run in Node's thread pool). */
const IN_FLIGHT_BYTES = 16 * 1024 * 1024;

/**
 * Compresses clusters several at a time in Node's thread pool and hands the results to the
 * sink strictly in order (zero marks keep their place among them), so host offsets are still
 * assigned in one sequential pass. Each cluster is copied into a buffer of a bounded pool
 * first (the caller reuses its bytes once `add` resolves): memory is at most `depth`
 * clusters and their compressed copies.
 */
export class CompressionQueue {
  private readonly jobs: Job[] = [];
  private readonly free: Buffer[] = [];
  private readonly depth: number;

  constructor(
    private readonly options: {
      compressor: ClusterCompressor;
      clusterSize: number;
      sink: CompressionSink;
    },
  ) {
    this.depth = Math.min(16, Math.max(2, Math.floor(IN_FLIGHT_BYTES / options.clusterSize)));
  }

  /** Queues one cluster (`bytes` shorter than a cluster for the disk's last one: zero padded). */
  async add(index: number, bytes: Uint8Array): Promise<void> {
    const cluster = this.free.pop() ?? Buffer.allocUnsafe(this.options.clusterSize);
    cluster.set(bytes);
    if (bytes.length < cluster.length) cluster.fill(0, bytes.length);
    const compressed = this.options.compressor.compress(cluster);
    compressed.catch(() => undefined); // reported when its turn comes
    this.jobs.push({ kind: 'data', index, cluster, compressed });
    await this.drain(this.depth);
  }

  async addZero(index: number): Promise<void> {
    this.jobs.push({ kind: 'zero', index });
    await this.drain(this.depth);
  }

  /** Hands over every queued cluster. */
  flush(): Promise<void> {
    return this.drain(0);
  }

  /** Forgets queued clusters (their compression still finishes in the thread pool). */
  discard(): void {
    this.jobs.length = 0;
  }

  private async drain(keep: number): Promise<void> {
    while (this.jobs.length > keep) {
      const job = this.jobs.shift()!;
      if (job.kind === 'zero') {
        await this.options.sink.storeZero(job.index);
        continue;
      }
      await this.options.sink.storeCompressed(job.index, job.cluster, await job.compressed);
      this.free.push(job.cluster);
    }
  }
}
