import type { CompressionLanes } from '../compress/CompressionLanes';

/** What the queue hands back, in the order the clusters were given. */
export interface CompressionSink {
  /** A cluster and its compressed bytes, undefined when they are not smaller (stored as is). */
  storeCompressed(index: number, cluster: Buffer, compressed: Buffer | undefined): Promise<void>;
  storeZero(index: number): Promise<void>;
}

type Job =
  | { kind: 'data'; index: number; cluster: Buffer; compressed: Promise<Buffer | undefined> }
  | { kind: 'zero'; index: number };

/**
 * Has clusters compressed several at a time (in the thread pool) and hands the results to the
 * sink strictly in order (zero marks keep their place among them), so host offsets are still
 * assigned in one sequential pass. Each cluster is copied into a buffer of a bounded pool
 * first (the caller reuses its bytes once `add` resolves; a cluster that does not get smaller
 * is stored from that copy): memory is at most `depth` clusters and their compressed copies,
 * and the compression streams' contexts.
 */
export class CompressionQueue {
  private readonly jobs: Job[] = [];
  private readonly free: Buffer[] = [];
  private readonly depth: number;

  constructor(
    private readonly options: {
      compressor: CompressionLanes;
      clusterSize: number;
      sink: CompressionSink;
    },
  ) {
    this.depth = Math.max(2, options.compressor.depth);
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

  /** Forgets queued clusters. */
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
