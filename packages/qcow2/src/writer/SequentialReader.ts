import type { Segment } from '../plan/segments';

interface Slot<T> {
  segment: Segment;
  buffer?: Uint8Array;
  promise: Promise<T | undefined>;
}

/** A segment of the pass with its bytes (for `read` segments) and what `read` returned. */
export interface ReadSegment<T> {
  segment: Segment;
  /** The bytes of a `read` segment; valid until the next call of `next`. */
  bytes?: Uint8Array;
  extra?: T;
}

/**
 * Walks a plan of segments with `depth` reads in flight ahead of the consumer (several reads
 * at once keep the kernel and storage busy while earlier chunks are processed). Buffers of
 * `bufferBytes` are reused: memory stays `depth * bufferBytes` whatever the volume size.
 */
export class SequentialReader<T = void> {
  private readonly free: Uint8Array[] = [];
  private readonly inFlight: Array<Slot<T>> = [];
  private lent?: Uint8Array;
  private pendingSegment?: Segment;
  private exhausted = false;

  constructor(
    private readonly options: {
      segments: Iterator<Segment>;
      /** Fills `target` for a read segment (it may use the whole buffer, e.g. two halves). */
      read: (segment: Segment, target: Uint8Array) => Promise<T>;
      bufferBytes: number;
      depth?: number;
    },
  ) {
    const depth = Math.max(1, options.depth ?? 4);
    for (let i = 0; i < depth; i++)
      this.free.push(new Uint8Array(options.bufferBytes));
  }

  async next(): Promise<ReadSegment<T> | undefined> {
    if (this.lent) {
      this.free.push(this.lent);
      this.lent = undefined;
    }
    this.fill();
    const slot = this.inFlight.shift();
    if (!slot) return undefined;
    let extra: T | undefined;
    try {
      extra = await slot.promise;
    } catch (error) {
      await Promise.allSettled(this.inFlight.map(s => s.promise));
      throw error;
    }
    this.lent = slot.buffer;
    this.fill();
    return { segment: slot.segment, bytes: slot.buffer, extra };
  }

  private fill(): void {
    // Holes need no buffer; keep at most a few queued so the plan is consumed lazily.
    while (!this.exhausted && this.inFlight.length < 64) {
      const segment = this.pendingSegment ?? this.take();
      if (!segment) return;
      if (segment.kind === 'hole') {
        this.pendingSegment = undefined;
        this.inFlight.push({ segment, promise: Promise.resolve(undefined) });
        continue;
      }
      const buffer = this.free.pop();
      if (!buffer) {
        this.pendingSegment = segment;
        return;
      }
      this.pendingSegment = undefined;
      const promise = this.options.read(segment, buffer);
      promise.catch(() => undefined); // awaited in order by next()
      this.inFlight.push({ segment, buffer, promise });
    }
  }

  private take(): Segment | undefined {
    const step = this.options.segments.next();
    if (step.done) {
      this.exhausted = true;
      return undefined;
    }
    return step.value;
  }
}
