import { invalidArgument } from '../format/errors';
import { continuesExtent, type ImageLayer, type LayerExtent } from './ImageLayer';

export const DEFAULT_EXTENT_WINDOW_BYTES = 256 * 1024 * 1024;

/**
 * The allocated (`data`, or `compressed`: one per cluster), `zero` and `unallocated` ranges of one layer, in guest order,
 * merged across L2 tables. Memory is bounded by one window of guest bytes, whatever the disk
 * size. Use it to find what an overlay changed, or to verify an image.
 */
export async function* layerExtents(
  layer: ImageLayer,
  options: { offset?: number; length?: number; windowBytes?: number } = {},
): AsyncGenerator<LayerExtent> {
  const start = options.offset ?? 0;
  const end = Math.min(
    layer.virtualSize,
    start + (options.length ?? layer.virtualSize),
  );
  const windowBytes = options.windowBytes ?? DEFAULT_EXTENT_WINDOW_BYTES;
  if (!Number.isSafeInteger(start) || start < 0)
    throw invalidArgument(
      `extent offset ${start} is not a non-negative integer`,
    );
  if (!(windowBytes >= layer.granularity))
    throw invalidArgument(
      `extent window ${windowBytes} is smaller than a cluster`,
    );
  let pending: LayerExtent | undefined;
  for (let position = start; position < end; ) {
    const windowEnd = Math.min(end, position + windowBytes);
    const batch: LayerExtent[] = [];
    await layer.mapRange(position, windowEnd - position, batch);
    for (const extent of batch) {
      if (pending && continuesExtent(pending, extent)) {
        pending.length += extent.length;
      } else {
        if (pending) yield pending;
        pending = extent;
      }
    }
    position = windowEnd;
  }
  if (pending) yield pending;
}
