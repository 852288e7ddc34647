/**
 * A bounded least-recently-used cache of L2 tables, keyed by L1 index. Concurrent requests
 * for the same table share one read. Memory: at most `maxBytes` (and at least one table).
 *
 * Table buffers are recycled: an evicted table's buffer is reused for a later load, so walking
 * a large disk does not leave a trail of garbage buffers (which V8 would collect late, growing
 * the RSS with the disk size). A buffer is recycled only after a macrotask turn, once every
 * continuation awaiting it has run; callers must therefore use a table synchronously after
 * awaiting it and not keep it.
 */
export class L2Cache {
  private readonly tables = new Map<number, Promise<Uint8Array>>();
  private readonly free: Uint8Array[] = [];
  private readonly capacity: number;
  private readonly tableBytes: number;

  constructor(options: { tableBytes: number; maxBytes: number }) {
    this.tableBytes = options.tableBytes;
    this.capacity = Math.max(
      1,
      Math.floor(options.maxBytes / options.tableBytes),
    );
  }

  get(
    l1Index: number,
    load: (target: Uint8Array) => Promise<void>,
  ): Promise<Uint8Array> {
    const cached = this.tables.get(l1Index);
    if (cached) {
      this.tables.delete(l1Index);
      this.tables.set(l1Index, cached);
      return cached;
    }
    const buffer = this.free.pop() ?? new Uint8Array(this.tableBytes);
    const loading = load(buffer).then(() => buffer);
    loading.catch(() => {
      if (this.tables.get(l1Index) === loading) this.tables.delete(l1Index);
    });
    this.tables.set(l1Index, loading);
    while (this.tables.size > this.capacity) {
      const oldest = this.tables.keys().next().value as number;
      const evicted = this.tables.get(oldest)!;
      this.tables.delete(oldest);
      evicted.then(
        table =>
          setImmediate(
            () => this.free.length < this.capacity && this.free.push(table),
          ),
        () => undefined,
      );
    }
    return loading;
  }
}
