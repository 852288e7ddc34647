/**
 * A bounded producer/consumer queue of byte chunks: the producer awaits `push` when
 * `maxChunks` are waiting, the consumer iterates. `end()` finishes, `fail(e)` makes the
 * consumer throw (so an upload of the stream aborts instead of committing).
 */
export class AsyncQueue implements AsyncIterable<Uint8Array> {
  private readonly items: Uint8Array[] = [];
  private ended = false;
  private error?: unknown;
  private wakeConsumer?: () => void;
  private wakeProducer?: () => void;

  constructor(private readonly maxChunks = 4) {}

  async push(chunk: Uint8Array): Promise<void> {
    while (this.items.length >= this.maxChunks && !this.error) {
      await new Promise<void>(r => (this.wakeProducer = r));
    }
    if (this.error) throw this.error;
    this.items.push(chunk);
    this.wakeConsumer?.();
  }

  end(): void {
    this.ended = true;
    this.wakeConsumer?.();
  }

  fail(error: unknown): void {
    this.error = error;
    this.wakeConsumer?.();
    this.wakeProducer?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.error) throw this.error;
      const next = this.items.shift();
      if (next) {
        this.wakeProducer?.();
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>(r => (this.wakeConsumer = r));
    }
  }
}
