import * as zlib from 'node:zlib';
import type { CompressionType } from '../format/header';
import {
  compressionSettings,
  compressorOptions,
  type CompressionOptions,
} from './clusterCodec';

/** Compression streams kept open (Node's thread pool has 4 threads by default). */
export const COMPRESSION_LANES = 4;
/** Clusters queued per lane. */
const CLUSTERS_PER_LANE = 4;

/**
 * One long-lived compression stream (node:zlib, its work done in the thread pool) that
 * compresses clusters one after the other, each into a frame of its own: zstd ends a frame
 * on a ZSTD_e_end flush and starts the next one with the same context; deflate ends its
 * stream on Z_FINISH and is reset (deflateReset keeps its memory). Node's one-call
 * `zstdCompress`/`deflateRaw` set up a new stream and context per cluster instead, which
 * cost 2 to 10 times the CPU of the compression itself for 64 KiB clusters (a new zstd
 * context allocates and clears about a MiB of tables).
 */
class Lane {
  private readonly stream: zlib.ZstdCompress | zlib.DeflateRaw;
  private readonly endFlag: number;
  private chunks: Buffer[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private failure?: Error;

  constructor(private readonly type: CompressionType, options: object) {
    if (type === 'zstd') {
      this.stream = new zlib.ZstdCompress(options as zlib.ZstdOptions);
      this.endFlag = zlib.constants.ZSTD_e_end;
    } else {
      this.stream = new zlib.DeflateRaw(options as zlib.ZlibOptions);
      this.endFlag = zlib.constants.Z_FINISH;
    }
    this.stream.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    this.stream.on('error', (error: Error) => {
      this.failure ??= error;
    });
  }

  /** The compressed frame of `cluster` (kept unchanged by the caller until this resolves). */
  compress(cluster: Uint8Array): Promise<Buffer> {
    const run = () =>
      new Promise<Buffer>((resolve, reject) => {
        if (this.failure) {
          reject(this.failure);
          return;
        }
        this.stream.write(cluster);
        this.stream.flush(this.endFlag, () => {
          if (this.failure) {
            reject(this.failure);
            return;
          }
          const frame =
            this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
          this.chunks = [];
          if (this.type === 'deflate') (this.stream as zlib.DeflateRaw).reset();
          resolve(frame);
        });
      });
    const result = this.tail.then(run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.stream.destroy();
  }
}

/**
 * Compresses clusters on a few long-lived streams at once (round robin), so several run in
 * the thread pool while the calling thread reads and writes. `compress` resolves to the
 * compressed bytes, or undefined when they are not smaller than the cluster (stored as is,
 * as qemu does).
 */
export class CompressionLanes {
  readonly type: CompressionType;
  readonly level: number;
  private readonly clusterSize: number;
  private readonly lanes: Lane[];
  private next = 0;

  constructor(options: CompressionOptions & { clusterSize: number }) {
    const settings = compressionSettings(options);
    this.type = settings.type;
    this.level = settings.level;
    this.clusterSize = options.clusterSize;
    const streamOptions = compressorOptions({ ...settings, clusterSize: options.clusterSize });
    this.lanes = Array.from(
      { length: COMPRESSION_LANES },
      () => new Lane(this.type, streamOptions),
    );
  }

  /** Clusters a caller may queue before it waits for the first: keeps every lane busy. */
  get depth(): number {
    return COMPRESSION_LANES * CLUSTERS_PER_LANE;
  }

  async compress(cluster: Uint8Array): Promise<Buffer | undefined> {
    const lane = this.lanes[this.next];
    this.next = (this.next + 1) % this.lanes.length;
    const frame = await lane.compress(cluster);
    return frame.length < this.clusterSize ? frame : undefined;
  }

  close(): void {
    for (const lane of this.lanes) lane.close();
  }
}
