import { availableParallelism } from 'node:os';
import type { Worker as WorkerType } from 'node:worker_threads';

/**
 * The worker's code: SHA-256 of a range of a SharedArrayBuffer (the bytes are not copied: the
 * caller's block buffer is shared memory), answered with the digest.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { hash } = require('node:crypto');
parentPort.on('message', m => {
  const digest = hash('sha256', Buffer.from(m.buffer, m.offset, m.length), 'buffer');
  parentPort.postMessage({ id: m.id, digest });
});
`;

/**
 * SHA-256 on worker threads, over shared memory: a restore checks every byte it reads from the
 * repository (hundreds of MiB), which on the calling thread is the largest part of its CPU time
 * and leaves the other cores idle. `crypto.subtle.digest` also runs on other threads, but copies
 * each input first and frees (and wipes) the copy on the calling thread: about a fifth more CPU.
 * Workers start on first use; they keep the process alive only while a digest is pending.
 */
export class HashPool {
  private readonly workers: WorkerType[] = [];
  private readonly waiting = new Map<number, { resolve: (d: Buffer) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private turn = 0;
  private failure?: unknown;

  constructor(private readonly threads = Math.max(1, Math.min(availableParallelism(), 4))) {}

  /** A buffer the workers can read without a copy (block buffers of the callers). */
  static sharedBuffer(bytes: number): Buffer {
    return Buffer.from(new SharedArrayBuffer(bytes));
  }

  /** The SHA-256 of `view`, which must lie in a SharedArrayBuffer (see `sharedBuffer`). */
  sha256(view: Uint8Array): Promise<Buffer> {
    if (!(view.buffer instanceof SharedArrayBuffer)) {
      return Promise.reject(new Error('HashPool digests views of a SharedArrayBuffer only'));
    }
    if (this.failure) return Promise.reject(this.failure);
    this.start();
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length];
    if (this.waiting.size === 0) for (const w of this.workers) w.ref();
    return new Promise<Buffer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, buffer: view.buffer, offset: view.byteOffset, length: view.byteLength });
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(w => w.terminate()));
  }

  private start(): void {
    if (this.workers.length) return;
    // Loaded on first use: node:worker_threads takes ~13 ms to load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    for (let i = 0; i < this.threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, stdout: false, stderr: false });
      worker.on('message', (m: { id: number; digest: Uint8Array }) => {
        const waiter = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) for (const w of this.workers) w.unref();
        waiter?.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength));
      });
      worker.on('error', e => this.fail(e));
      worker.on('exit', code => {
        if (this.workers.includes(worker)) this.fail(new Error(`a hashing thread exited (code ${code})`));
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
