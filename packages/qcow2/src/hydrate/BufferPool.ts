/**
 * A fixed set of equal buffers handed out in turn: `acquire` waits while all are in use.
 * Bounds both memory and the number of operations in flight.
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];
  private readonly waiting: Array<(buffer: Uint8Array) => void> = [];

  constructor(options: { count: number; bytes: number }) {
    for (let i = 0; i < options.count; i++)
      this.free.push(new Uint8Array(options.bytes));
  }

  acquire(): Promise<Uint8Array> {
    const buffer = this.free.pop();
    if (buffer) return Promise.resolve(buffer);
    return new Promise(resolve => this.waiting.push(resolve));
  }

  release(buffer: Uint8Array): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}
