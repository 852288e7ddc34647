/** The benchmark's rows and their markdown table (medians; peak RSS is the largest seen). */
import { Measurement, median } from './measure';

export interface Row {
  name: string;
  reference: string;
  /** The goal as a ratio ferry / reference (shown beside the ratio). */
  goal?: number;
  ferry: Measurement[];
  ref: Measurement[];
  ferryBytes?: number;
  refBytes?: number;
}

const rows: Row[] = [];

/** The row of a step, created on first use (rows keep the order of first use). */
export function row(name: string, reference: string, goal?: number): Row {
  let found = rows.find(r => r.name === name);
  if (!found) rows.push((found = { name, reference, goal, ferry: [], ref: [] }));
  return found;
}

export function allRows(): readonly Row[] {
  return rows;
}

const f2 = (n: number) => n.toFixed(2);
const mib = (b?: number) => (b === undefined ? '' : (b / 1048576).toFixed(1));

export function formatTable(): string {
  const lines = [
    '| step | reference | ferry s | ref s | ferry/ref | goal | ferry CPU s | ref CPU s | S3 server CPU s ferry / ref | ferry peak RSS MiB | ref peak RSS MiB | stored MiB ferry / ref | n |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    if (r.ferry.length === 0 || r.ref.length === 0) continue;
    const med = (ms: Measurement[], pick: (m: Measurement) => number | undefined) => {
      const values = ms.map(pick).filter((v): v is number => v !== undefined);
      return values.length ? median(values) : undefined;
    };
    const ferry = med(r.ferry, m => m.seconds)!;
    const ref = med(r.ref, m => m.seconds)!;
    const ratio = ferry / ref;
    const goal = r.goal === undefined ? '' : `${ratio <= r.goal ? 'met' : 'not met'} (≤ ${r.goal})`;
    const server = [med(r.ferry, m => m.serverCpuSeconds), med(r.ref, m => m.serverCpuSeconds)];
    const serverText = server[0] === undefined && server[1] === undefined ? '' : server.map(v => (v === undefined ? '–' : f2(v))).join(' / ');
    const rss = (ms: Measurement[]) => Math.max(...ms.map(m => m.maxRssMiB)).toFixed(0);
    const stored = r.ferryBytes === undefined ? '' : `${mib(r.ferryBytes)} / ${mib(r.refBytes)}`;
    if (r.reference === '–') {
      // a row without a reference tool (the flat-memory check)
      lines.push(
        `| ${r.name} | – | ${f2(ferry)} | – | – | – | ${f2(med(r.ferry, m => m.cpuSeconds)!)} | – |  | ${rss(r.ferry)} | – | ${mib(r.ferryBytes)} | ${r.ferry.length} |`,
      );
      continue;
    }
    lines.push(
      `| ${r.name} | ${r.reference} | ${f2(ferry)} | ${f2(ref)} | **${f2(ratio)}×** | ${goal} | ${f2(med(r.ferry, m => m.cpuSeconds)!)} | ${f2(med(r.ref, m => m.cpuSeconds)!)} | ${serverText} | ${rss(r.ferry)} | ${rss(r.ref)} | ${stored} | ${r.ferry.length} |`,
    );
  }
  return lines.join('\n');
}
