/** One progress line on stdout (JSON). */
export interface ProgressEvent {
  type: 'progress';
  operation: 'volume-backup' | 'volume-restore';
  phase: 'prepare' | 'read' | 'write' | 'finish' | 'verify' | 'done';
  bytesRead: number;
  bytesWritten: number;
  bytesTotal: number;
  /** Seconds since start. */
  elapsed: number;
}

export type ProgressSink = (event: ProgressEvent) => void;

/**
 * Throttles progress to one line per `intervalMs` (phase changes are always reported).
 */
export class ProgressReporter {
  private last = 0;
  private phase?: ProgressEvent['phase'];
  private readonly started = Date.now();
  bytesRead = 0;
  bytesWritten = 0;

  constructor(
    private readonly o: {
      operation: ProgressEvent['operation'];
      bytesTotal: number;
      sink?: ProgressSink;
      intervalMs?: number;
    },
  ) {}

  set total(bytes: number) {
    this.o.bytesTotal = bytes;
  }

  report(phase: ProgressEvent['phase'], force = false): void {
    const now = Date.now();
    if (!force && phase === this.phase && now - this.last < (this.o.intervalMs ?? defaultInterval())) return;
    this.last = now;
    this.phase = phase;
    this.o.sink?.({
      type: 'progress',
      operation: this.o.operation,
      phase,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      bytesTotal: this.o.bytesTotal,
      elapsed: Math.round((now - this.started) / 100) / 10,
    });
  }
}

/** FERRY_PROGRESS_INTERVAL_MS (default 1000): minimum time between two progress lines. */
function defaultInterval(): number {
  const v = Number(process.env.FERRY_PROGRESS_INTERVAL_MS);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
}
