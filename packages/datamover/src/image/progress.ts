/** One progress line of an image operation (JSON on stdout). */
export interface ImageProgressEvent {
  type: 'progress';
  operation: 'image-backup' | 'image-restore';
  phase: 'image' | 'blob' | 'done';
  /** The image being worked on (the reference as given / as backed up). */
  image?: string;
  imagesDone: number;
  imagesTotal: number;
  /** Bytes read from the source so far (registry on backup, repository on restore). */
  bytesCopied: number;
  /** Bytes actually written (new blobs in the repository / blobs pushed to the registry). */
  bytesWritten: number;
  elapsed: number;
}

export type ImageProgressSink = (event: ImageProgressEvent) => void;

/** Counts bytes and images; emits at most one `blob` line per interval, every `image` line. */
export class ImageProgress {
  imagesDone = 0;
  bytesCopied = 0;
  bytesWritten = 0;
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly o: {
      operation: ImageProgressEvent['operation'];
      imagesTotal: number;
      sink?: ImageProgressSink;
      intervalMs?: number;
    },
  ) {}

  report(phase: ImageProgressEvent['phase'], image?: string): void {
    const now = Date.now();
    const interval = this.o.intervalMs ?? defaultInterval();
    if (phase === 'blob' && now - this.last < interval) return;
    this.last = now;
    this.o.sink?.({
      type: 'progress',
      operation: this.o.operation,
      phase,
      ...(image ? { image } : {}),
      imagesDone: this.imagesDone,
      imagesTotal: this.o.imagesTotal,
      bytesCopied: this.bytesCopied,
      bytesWritten: this.bytesWritten,
      elapsed: Math.round((now - this.started) / 100) / 10,
    });
  }
}

function defaultInterval(): number {
  const v = Number(process.env.FERRY_PROGRESS_INTERVAL_MS);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
}
