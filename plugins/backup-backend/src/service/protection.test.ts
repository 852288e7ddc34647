import type { BackupSummary } from '@ferry/plugin-backup-common';
import { protectionOf } from './protection';

const now = Date.parse('2026-11-25T12:00:00Z');
const backup = (phase: BackupSummary['phase'], hoursAgo: number, id = `b${hoursAgo}`): BackupSummary => ({
  id,
  entityRef: 'component:default/shop',
  cluster: 'sandbox',
  namespace: 'demo',
  target: 'local',
  kind: 'full',
  phase,
  trigger: { type: 'kubernetes' },
  createdAt: new Date(now - hoursAgo * 3600_000).toISOString(),
  completedAt: new Date(now - hoursAgo * 3600_000).toISOString(),
});

describe('protectionOf', () => {
  const state = (backups: BackupSummary[]) =>
    protectionOf({ entityRef: 'component:default/shop', backups, now });

  it('is red without any successful backup', () => {
    expect(state([])).toMatchObject({ protection: 'unprotected', reason: 'no backup yet' });
    expect(state([backup('Failed', 1)])).toMatchObject({
      protection: 'unprotected',
      reason: 'no successful backup yet (last one Failed)',
    });
  });

  it('is green after a recent success, amber when it ages or the last one failed', () => {
    expect(state([backup('Completed', 3)])).toMatchObject({
      protection: 'protected',
      reason: 'last backup 3 h ago',
      lastSuccessfulBackup: { id: 'b3' },
    });
    expect(state([backup('Completed', 50)]).protection).toBe('at-risk');
    expect(state([backup('Failed', 1), backup('Completed', 5)])).toMatchObject({
      protection: 'at-risk',
      reason: 'the last backup failed; last success 5 h ago',
    });
    expect(state([backup('Completed', 24 * 9)])).toMatchObject({
      protection: 'unprotected',
      reason: 'no successful backup in 9 days',
    });
  });

  it('reports a running backup', () => {
    expect(state([backup('Running', 0, 'now'), backup('Completed', 2)]).running).toEqual({
      id: 'now',
      phase: 'Running',
    });
  });
});
