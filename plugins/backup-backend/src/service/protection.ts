import type {
  BackupSummary,
  EntityBackupStatus,
  ProtectionState,
} from '@ferry/plugin-backup-common';
import { isTerminalPhase } from '@ferry/plugin-backup-common';

const HOUR = 3600_000;
/** A successful backup younger than this protects the entity. */
export const PROTECTED_FOR_MS = 26 * HOUR;
/** Older than this (or none at all): unprotected. */
export const AT_RISK_FOR_MS = 7 * 24 * HOUR;

function age(ms: number): string {
  if (ms < HOUR) return `${Math.max(1, Math.round(ms / 60_000))} min`;
  if (ms < 48 * HOUR) return `${Math.round(ms / HOUR)} h`;
  return `${Math.round(ms / (24 * HOUR))} days`;
}

/** Green / amber / red for an entity, from its backups (newest first), with the reason in words. */
export function protectionOf(options: {
  entityRef: string;
  backups: BackupSummary[];
  policy?: string;
  now?: number;
}): EntityBackupStatus {
  const now = options.now ?? Date.now();
  const lastGood = options.backups.find(b => b.phase === 'Completed');
  const running = options.backups.find(b => !isTerminalPhase(b.phase));
  const latest = options.backups.find(b => isTerminalPhase(b.phase));
  let protection: ProtectionState;
  let reason: string;
  if (!lastGood) {
    protection = 'unprotected';
    reason = latest ? `no successful backup yet (last one ${latest.phase})` : 'no backup yet';
  } else {
    const since = now - Date.parse(lastGood.completedAt ?? lastGood.createdAt);
    if (since <= PROTECTED_FOR_MS && latest?.phase !== 'Failed') {
      protection = 'protected';
      reason = `last backup ${age(since)} ago`;
    } else if (since <= AT_RISK_FOR_MS) {
      protection = 'at-risk';
      reason =
        latest?.phase === 'Failed'
          ? `the last backup failed; last success ${age(since)} ago`
          : `no backup in ${age(since)}`;
    } else {
      protection = 'unprotected';
      reason = `no successful backup in ${age(since)}`;
    }
  }
  return {
    entityRef: options.entityRef,
    protection,
    reason,
    ...(lastGood
      ? { lastSuccessfulBackup: { id: lastGood.id, completedAt: lastGood.completedAt, kind: lastGood.kind } }
      : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(running ? { running: { id: running.id, phase: running.phase } } : {}),
  };
}
