import type { OperationTrigger, RestoreDetail, RestoreSummary } from '@ferry/plugin-backup-common';
import { ENTITY_REF_ANNOTATION, REQUESTED_BY_ANNOTATION } from './BackupResource';
import { RestoreResource, RestoreStatus, restoreIdOf, restoreNamespaceOf } from './RestoreResource';

/** The index row of a Restore resource. */
export function toRestoreSummary(cluster: string, restore: RestoreResource): RestoreSummary {
  const status = restore.status ?? {};
  const requestedBy = restore.metadata.annotations?.[REQUESTED_BY_ANNOTATION];
  const trigger: OperationTrigger = requestedBy
    ? { type: 'user', userEntityRef: requestedBy }
    : { type: 'kubernetes' };
  return {
    id: restoreIdOf(restore),
    entityRef: restore.metadata.annotations?.[ENTITY_REF_ANNOTATION] ?? '',
    backupId: restore.spec.backupId,
    cluster,
    namespace: restoreNamespaceOf(restore),
    phase: status.phase ?? 'Pending',
    trigger,
    createdAt: restore.metadata.creationTimestamp
      ? new Date(restore.metadata.creationTimestamp).toISOString()
      : new Date().toISOString(),
    completedAt: status.completedAt,
    message: status.message,
  };
}

/** The API's view of a restore from its index row and last status. */
export function toRestoreDetail(options: {
  summary: RestoreSummary;
  resourceName?: string;
  status?: RestoreStatus;
}): RestoreDetail {
  const status = options.status ?? {};
  return {
    ...options.summary,
    resourceName: options.resourceName ?? '',
    step: status.step,
    volumes: (status.volumes ?? []).map(({ record: _record, parentBackupId: _parent, ...volume }) => volume),
    timeline: status.timeline ?? [],
    objects: status.objects ?? [],
    images: status.imageOutcomes ?? [],
    failures: status.failures ?? [],
  };
}
