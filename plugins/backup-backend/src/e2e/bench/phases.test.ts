import { phasesOf, unionSeconds } from './phases';

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, 0) + s * 1000).toISOString();

describe('phases of an operation', () => {
  it('adds up overlapping data passes once', () => {
    expect(unionSeconds([[0, 1000], [500, 2000], [3000, 3500], [3400, 3400]])).toBe(2.5);
  });

  it('splits a backup along the volume whose Job ended last', () => {
    const report = phasesOf('backup', {
      createdAt: Date.parse(at(0)),
      completedAt: Date.parse(at(20)),
      timeline: [
        { time: at(0.5), step: 'Start' },
        { time: at(1), step: 'Plan' },
        { time: at(1.5), step: 'Plan' },
        { time: at(2), step: 'Metadata' },
        { time: at(3), step: 'Pre-hooks' },
        { time: at(4.5), step: 'Snapshots' },
        { time: at(5), step: 'Post-hooks' },
        { time: at(18), step: 'Commit' },
        { time: at(19), step: 'Cleanup' },
        { time: at(20), step: 'Completed' },
      ],
      volumes: [
        { pvc: 'small', timings: { snapshotCreatedAt: at(3), snapshotReadyAt: at(4), claimCreatedAt: at(5.5), processStartedAt: at(7), dataStartedAt: at(7.2), dataFinishedAt: at(8), doneAt: at(8.5) } },
        { pvc: 'big', timings: { snapshotCreatedAt: at(3.1), snapshotReadyAt: at(4.5), claimCreatedAt: at(6), processStartedAt: at(8), dataStartedAt: at(8.3), dataFinishedAt: at(17), doneAt: at(17.5) } },
      ],
    });
    expect(report.totalSeconds).toBe(20);
    expect(report.criticalVolume).toBe('big');
    expect(report.dataPassSeconds).toBeCloseTo(9.5, 5); // 7.2..8 and 8.3..17
    expect(report.phases.map(p => [p.phase, Number(p.seconds.toFixed(2))])).toEqual([
      ['controller picked it up', 0.5],
      ['plan (application read, parents chosen)', 1],
      ['metadata (YAML stored)', 0.5],
      ['pre-hooks', 1],
      ['snapshots (all ready)', 1.5],
      ['post-hooks', 0.5],
      ['temporary claim created', 1],
      ['datamover process started (Job scheduling and start)', 2],
      ['data pass started (datamover start-up)', 0.3],
      ['data pass ended', 8.7],
      ['Job end seen', 0.5],
      ['commit', 1.5],
      ['cleanup (temporary objects gone)', 1],
    ]);
    expect(report.phases.reduce((s, p) => s + p.seconds, 0)).toBeCloseTo(20, 5);
  });
});
