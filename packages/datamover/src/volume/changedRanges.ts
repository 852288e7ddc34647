import { z } from 'zod';
import { DatamoverError } from '../errors';

/**
 * Changed byte ranges since the parent snapshot (the CBT path: Kubernetes CSI SnapshotMetadata
 * GetMetadataDelta). Accepted as JSON: `[{"offset": n, "length": n}, …]` or
 * `{"ranges": [...]}`; ranges may overlap and come in any order.
 */
const rangeSchema = z.object({ offset: z.number().int().nonnegative(), length: z.number().int().positive() });
const fileSchema = z.union([z.array(rangeSchema), z.object({ ranges: z.array(rangeSchema) })]);

export type ByteRange = z.infer<typeof rangeSchema>;

export function parseChangedRanges(text: string, source: string): ByteRange[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DatamoverError('USAGE', `changed ranges file ${source} is not JSON`, { cause: e });
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DatamoverError('USAGE', `changed ranges file ${source}: field "${i.path.join('.')}" ${i.message.toLowerCase()}`);
  }
  return Array.isArray(r.data) ? r.data : r.data.ranges;
}

/** Sorted, merged cluster runs `[first, end)` touched by `ranges`. */
export function toClusterRuns(ranges: ByteRange[], clusterSize: number, clusterCount: number): Array<[number, number]> {
  const runs = ranges
    .map(r => [Math.floor(r.offset / clusterSize), Math.min(clusterCount, Math.ceil((r.offset + r.length) / clusterSize))] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const run of runs) {
    const last = merged[merged.length - 1];
    if (last && run[0] <= last[1]) last[1] = Math.max(last[1], run[1]);
    else merged.push([...run]);
  }
  return merged;
}
