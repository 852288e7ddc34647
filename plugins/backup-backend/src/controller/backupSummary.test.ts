import type { BackupSummary } from '@ferry/plugin-backup-common';
import { toBackupDetail } from './backupSummary';

const summary: BackupSummary = {
  id: 'b',
  entityRef: 'component:default/shop',
  cluster: 'c',
  namespace: 'n',
  target: 't',
  kind: 'full',
  phase: 'Completed',
  trigger: { type: 'kubernetes' },
  createdAt: '2026-01-01T00:00:00.000Z',
};
const lock = { mode: 'compliance' as const, until: '2099-01-01T00:00:00.000Z' };

describe('toBackupDetail', () => {
  it('allows deleting a finished backup unless its objects are still locked, never a running one', () => {
    expect(toBackupDetail({ summary, status: { phase: 'Completed' } }).deletion).toEqual({ allowed: true });
    expect(toBackupDetail({ summary, status: { phase: 'Completed', protection: { lock: { ...lock, until: '2020-01-01T00:00:00.000Z' } } } }).deletion).toEqual({
      allowed: true,
    });
    expect(toBackupDetail({ summary, status: { phase: 'Completed', protection: { lock } } }).deletion).toEqual({
      allowed: false,
      reason: 'it is locked (object lock, compliance mode) until 2099-01-01T00:00:00.000Z',
    });
    // running: the lock is not looked at yet
    expect(toBackupDetail({ summary: { ...summary, phase: 'Running' }, status: { phase: 'Running', protection: { lock } } }).deletion).toEqual({
      allowed: false,
      reason: 'the backup is still running',
    });
  });
});
