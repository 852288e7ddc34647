/**
 * A bounded least-recently-used cache of L2 tables, keyed by L1 index. Concurrent requests
 * for the same table share one read. Memory: at most `maxBytes` (and at least one table).
 */
export class L2Cache {
  private readonly tables = new Map<number, Promise<Uint8Array>>();
  private readonly capacity: number;

  constructor(options: { tableBytes: number; maxBytes: number }) {
    this.capacity = Math.max(1, Math.floor(options.maxBytes / options.tableBytes));
  }

  get(l1Index: number, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const cached = this.tables.get(l1Index);
    if (cached) {
      this.tables.delete(l1Index);
      this.tables.set(l1Index, cached);
      return cached;
    }
    const loading = load();
    loading.catch(() => {
      if (this.tables.get(l1Index) === loading) this.tables.delete(l1Index);
    });
    this.tables.set(l1Index, loading);
    while (this.tables.size > this.capacity) {
      const oldest = this.tables.keys().next().value as number;
      this.tables.delete(oldest);
    }
    return loading;
  }
}
