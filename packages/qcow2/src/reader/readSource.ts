import type { RangeSource } from '../io';

/** Reads `target.length` bytes at `offset`, through `readInto` when the source has it. */
export async function readSourceInto(source: RangeSource, target: Uint8Array, offset: number): Promise<void> {
  const withInto = source as RangeSource & { readInto?: (t: Uint8Array, o: number) => Promise<void> };
  if (typeof withInto.readInto === 'function') {
    await withInto.readInto(target, offset);
    return;
  }
  target.set(await source.read(offset, target.length));
}
