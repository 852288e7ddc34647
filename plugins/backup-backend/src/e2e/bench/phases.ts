/**
 * Where the time of a Backup or Restore goes, from its status: the timeline (each entry written
 * when its step ended, or began for Commit and Cleanup) and each volume's `timings`
 * (pipeline/volumeTimings.ts, pipeline/datamoverJob.ts JobTimings).
 */

export interface OperationTimes {
  /** When the resource was asked for (the API call's start), ms. */
  createdAt: number;
  /** When its terminal phase was written, ms. */
  completedAt: number;
  timeline: Array<{ time: string; step: string }>;
  volumes: Array<{ pvc: string; timings?: Record<string, string> }>;
}

export interface Phase {
  phase: string;
  seconds: number;
  /** What the span runs from and to. */
  span: string;
}

export interface PhaseReport {
  totalSeconds: number;
  phases: Phase[];
  /** Wall time during which at least one datamover's data pass ran. */
  dataPassSeconds: number;
  /** The volume whose Job ended last (the critical path of the volume step). */
  criticalVolume?: string;
}

const ms = (iso?: string) => (iso ? Date.parse(iso) : undefined);

/** Seconds of the union of intervals. */
export function unionSeconds(intervals: Array<[number, number]>): number {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  let start = -Infinity;
  for (const [a, b] of sorted) {
    if (a > end) {
      if (end > start) total += end - start;
      start = a;
      end = b;
    } else end = Math.max(end, b);
  }
  if (end > start) total += end - start;
  return total / 1000;
}

/**
 * The phases, in order, as spans between milestones. The volume step is followed along the
 * volume whose Job ended last; volumes run side by side, so the other volumes' steps overlap.
 */
export function phasesOf(kind: 'backup' | 'restore', t: OperationTimes): PhaseReport {
  const firstOf = (step: string) => ms(t.timeline.find(e => e.step === step)?.time);
  const lastOf = (step: string) => ms([...t.timeline].reverse().find(e => e.step === step)?.time);
  const vols = t.volumes.filter(v => v.timings?.doneAt);
  const critical = vols.sort((a, b) => ms(b.timings!.doneAt)! - ms(a.timings!.doneAt)!)[0];
  const c = critical?.timings ?? {};
  const dataPass = unionSeconds(
    t.volumes
      .map(v => [ms(v.timings?.dataStartedAt), ms(v.timings?.dataFinishedAt)] as const)
      .filter((x): x is [number, number] => x[0] !== undefined && x[1] !== undefined),
  );
  const milestones: Array<[string, number | undefined]> =
    kind === 'backup'
      ? [
          ['asked for', t.createdAt],
          ['controller picked it up', firstOf('Start')],
          ['plan (application read, parents chosen)', lastOf('Plan')],
          ['metadata (YAML stored)', lastOf('Metadata')],
          ['pre-hooks', minOf(t.volumes, 'snapshotCreatedAt')],
          ['snapshots (all ready)', maxOf(t.volumes, 'snapshotReadyAt')],
          ['post-hooks', lastOf('Post-hooks') ?? lastOf('Snapshots')],
          ['temporary claim created', ms(c.claimCreatedAt)],
          ['claim bound, Job created', ms(c.jobCreatedAt)],
          ['datamover process started (Job scheduling and start)', ms(c.processStartedAt)],
          ['data pass started (datamover start-up)', ms(c.dataStartedAt)],
          ['data pass ended', ms(c.dataFinishedAt)],
          ['Job end seen', ms(c.doneAt)],
          ['commit', firstOf('Cleanup')],
          ['cleanup (temporary objects gone)', t.completedAt],
        ]
      : [
          ['asked for', t.createdAt],
          ['controller picked it up', firstOf('Start')],
          ['plan (manifest and objects read and checked)', firstOf('Plan')],
          ["claim to hydrate created (the application's own in Block mode, else a temporary one)", ms(c.claimCreatedAt)],
          ['claim bound, Job created', ms(c.jobCreatedAt)],
          ['datamover process started (Job scheduling and start)', ms(c.processStartedAt)],
          ['data pass started (datamover start-up)', ms(c.dataStartedAt)],
          ['data pass ended', ms(c.dataFinishedAt)],
          ['Job end seen', ms(c.doneAt)],
          ['snapshot of the hydrated claim (Filesystem claims)', ms(c.snapshotReadyAt)],
          ["application's claim from it", ms(c.claimFromSnapshotAt)],
          ['volumes done (other volumes)', firstOf('Volumes')],
          ['images checked and metadata applied', lastOf('Metadata')],
          ['workloads ready (verify)', lastOf('Verify')],
          ['cleanup started', firstOf('Cleanup')],
          ['cleanup (temporary objects gone)', t.completedAt],
        ];
  const known = milestones.filter((m): m is [string, number] => m[1] !== undefined);
  const phases: Phase[] = [];
  for (let i = 1; i < known.length; i++) {
    const [label, at] = known[i];
    const [from, was] = known[i - 1];
    phases.push({ phase: label, seconds: Math.max(0, (at - was) / 1000), span: `${from} → ${label}` });
  }
  return {
    totalSeconds: (t.completedAt - t.createdAt) / 1000,
    phases,
    dataPassSeconds: dataPass,
    criticalVolume: critical?.pvc,
  };
}

function minOf(volumes: OperationTimes['volumes'], key: string): number | undefined {
  const values = volumes.map(v => ms(v.timings?.[key])).filter((x): x is number => x !== undefined);
  return values.length ? Math.min(...values) : undefined;
}

function maxOf(volumes: OperationTimes['volumes'], key: string): number | undefined {
  const values = volumes.map(v => ms(v.timings?.[key])).filter((x): x is number => x !== undefined);
  return values.length ? Math.max(...values) : undefined;
}

/** A markdown table of a report. */
export function formatPhases(title: string, r: PhaseReport): string {
  const lines = [
    `${title}: ${r.totalSeconds.toFixed(1)} s from the request to the terminal phase; data pass ${r.dataPassSeconds.toFixed(1)} s (${((100 * r.dataPassSeconds) / r.totalSeconds).toFixed(0)} %), everything else ${(r.totalSeconds - r.dataPassSeconds).toFixed(1)} s; volume step followed along ${r.criticalVolume ?? '(none)'}`,
    '',
    '| phase (ends at) | s |',
    '|---|---:|',
    ...r.phases.map(p => `| ${p.phase} | ${p.seconds.toFixed(2)} |`),
  ];
  return lines.join('\n');
}
