export type Reconcile = (key: string) => Promise<ReconcileResult | undefined>;

/** What a reconcile asks for: nothing (done), or another look after `requeueAfterMs`. */
export type ReconcileResult = { requeueAfterMs: number };

/**
 * A keyed work queue in the style of client-go's: a key is reconciled by one worker at a time;
 * a key added while it is being reconciled is reconciled again afterwards; failures are retried
 * with exponential back-off (200 ms … 5 s).
 */
export class ReconcileQueue {
  private readonly pending = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly name: string,
    private readonly reconcile: Reconcile,
    private readonly log: (message: string) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    setImmediate(() => this.run(key));
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key);
    }, delayMs);
    this.timers.add(timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Resolves once no reconcile is running (used by stop paths). */
  async idle(): Promise<void> {
    if (this.active.size === 0) return;
    await new Promise<void>(resolve => this.idleWaiters.push(resolve));
  }

  private async run(key: string) {
    this.pending.delete(key);
    if (this.stopped) return;
    this.active.add(key);
    try {
      const result = await this.reconcile(key);
      this.failures.delete(key);
      if (result) this.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      const count = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, count);
      const delay = Math.min(5000, 200 * 2 ** (count - 1));
      if (!this.stopped) {
        const message = error instanceof Error ? error.message : String(error);
        this.log(`Reconcile of ${this.name} ${key} failed (attempt ${count}, retry in ${delay} ms): ${message}`);
      }
      this.addAfter(key, delay);
    } finally {
      this.active.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      if (this.active.size === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }
}
