import type { RangeSource } from '../io';

/** Reads `target.length` bytes at `offset`, through `readInto` when the source has it. */
export async function readSourceInto(
  source: RangeSource,
  target: Uint8Array,
  offset: number,
): Promise<void> {
  if (source.readInto) {
    await source.readInto(target, offset);
    return;
  }
  target.set(await source.read(offset, target.length));
}
