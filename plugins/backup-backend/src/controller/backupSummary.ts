import type {
  BackupDetail,
  BackupSummary,
  OperationTrigger,
} from '@ferry/plugin-backup-common';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import { lockedReason } from '../protection/backupProtection';
import {
  BackupResource,
  BackupStatus,
  ENTITY_REF_ANNOTATION,
  REQUESTED_BY_ANNOTATION,
} from './BackupResource';

/** Annotation with the backup id chosen by the API before the controller ran it. */
export const BACKUP_ID_ANNOTATION = 'ferry.io/backup-id';
/** Label on Backups created by a schedule; the value is the policy name. */
export const SCHEDULE_LABEL = 'ferry.io/schedule';

export function backupIdOf(backup: BackupResource): string | undefined {
  return backup.status?.backupId ?? backup.metadata.annotations?.[BACKUP_ID_ANNOTATION];
}

/** The index row of a Backup resource; undefined until it has a backup id. */
export function toBackupSummary(cluster: string, backup: BackupResource): BackupSummary | undefined {
  const id = backupIdOf(backup);
  if (!id) return undefined;
  const status = backup.status ?? {};
  return {
    id,
    entityRef: backup.metadata.annotations?.[ENTITY_REF_ANNOTATION] ?? '',
    cluster,
    namespace: backup.metadata.namespace,
    target: backup.spec.target,
    kind: status.type === 'Incremental' ? 'incremental' : 'full',
    phase: status.phase ?? 'Pending',
    policy: backup.spec.policy,
    trigger: triggerOf(backup),
    createdAt: backup.metadata.creationTimestamp
      ? new Date(backup.metadata.creationTimestamp).toISOString()
      : new Date().toISOString(),
    completedAt: status.completedAt,
    logicalBytes: status.logicalBytes,
    storedBytes: status.storedBytes,
    message: status.message,
  };
}

function triggerOf(backup: BackupResource): OperationTrigger {
  const requestedBy = backup.metadata.annotations?.[REQUESTED_BY_ANNOTATION];
  if (requestedBy) return { type: 'user', userEntityRef: requestedBy };
  const policy = backup.metadata.labels?.[SCHEDULE_LABEL];
  if (policy) return { type: 'schedule', policy };
  return { type: 'kubernetes' };
}

/** Whether a backup may be deleted now: not while it runs, nor while its objects are locked. */
function deletionOf(o: { running: boolean; protection: BackupStatus['protection'] }): BackupDetail['deletion'] {
  if (o.running) return { allowed: false, reason: 'the backup is still running' };
  const locked = lockedReason(o.protection);
  return locked ? { allowed: false, reason: locked } : { allowed: true };
}

/** The API's view of a backup from its index row and last status. */
export function toBackupDetail(options: {
  summary: BackupSummary;
  resourceName?: string;
  status?: BackupStatus;
}): BackupDetail {
  const status = options.status ?? {};
  const running = !isTerminalPhase(options.summary.phase);
  return {
    ...options.summary,
    resourceName: options.resourceName ?? '',
    step: status.step,
    volumes: (status.volumes ?? []).map(({ record: _record, parentBackupId, ...volume }) => ({
      ...volume,
      chain: volume.chain ?? (parentBackupId ? [parentBackupId, options.summary.id] : [options.summary.id]),
    })),
    timeline: status.timeline ?? [],
    failures: status.failures ?? [],
    resources: status.resources ?? [],
    images: (status.images ?? []).map(image => {
      const copy = status.imageBackup?.images?.find(i => i.image === image);
      return { image, ...(copy?.digest ? { digest: copy.digest } : {}), stored: copy?.stored ?? false };
    }),
    hooks: status.hooks ?? [],
    deletion: deletionOf({ running, protection: status.protection }),
    ...(status.protection ? { protection: status.protection } : {}),
  };
}
