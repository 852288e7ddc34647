/** The benchmark's result rows and their markdown table. */
import { Measurement, median } from './measure';

export interface Row {
  name: string;
  ours: Measurement[];
  theirs: Measurement[];
  oursBytes?: number;
  theirsBytes?: number;
}

const rows: Row[] = [];

/** The row of an operation, created on first use (rows keep their first-use order). */
export function row(name: string): Row {
  let found = rows.find(r => r.name === name);
  if (!found) rows.push((found = { name, ours: [], theirs: [] }));
  return found;
}

/**
 * The rows as a markdown table: medians of wall and CPU seconds (user + system, all threads),
 * the wall-time ratio, peak RSS and output sizes.
 */
export function formatTable(): string {
  const mib = (bytes?: number) =>
    bytes === undefined ? '' : (bytes / 1024 / 1024).toFixed(1);
  const lines = [
    '| operation | ours s | qemu-img s | ours/qemu | ours CPU s | qemu-img CPU s | ours peak RSS MiB | qemu-img peak RSS MiB | ours output MiB | qemu-img output MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ours = median(r.ours.map(m => m.seconds));
    const theirs = median(r.theirs.map(m => m.seconds));
    const cpu = (ms: Measurement[]) =>
      median(ms.map(m => m.cpuSeconds)).toFixed(2);
    const rss = (ms: Measurement[]) =>
      Math.max(...ms.map(m => m.maxRssMiB)).toFixed(0);
    lines.push(
      `| ${r.name} | ${ours.toFixed(2)} | ${theirs.toFixed(2)} | **${(
        ours / theirs
      ).toFixed(2)}×** | ${cpu(r.ours)} | ${cpu(r.theirs)} | ${rss(
        r.ours,
      )} | ${rss(r.theirs)} | ${mib(r.oursBytes)} | ${mib(r.theirsBytes)} |`,
    );
  }
  return lines.join('\n');
}
