import type { AppLock, Repository } from '@ferry/repository';
import type {
  BackupResource,
  BackupStatus,
} from '../controller/BackupResource';
import { SCHEDULE_LABEL } from '../controller/backupSummary';
import { protectionOfManifest } from '../protection/backupProtection';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { ApplicationSnapshot, ApplicationTarget } from '../mapping/types';

/**
 * Writes the backup's manifest (the commit point, DESIGN §3 step 7) with the volumes that
 * succeeded, and returns the final phase to record: Completed, PartiallyFailed naming each failed
 * volume or hook, or an error when nothing could be stored. Idempotent: a manifest this backup
 * committed before an interruption (the backup id is its own) is read back, not written again.
 */
export async function commitBackupManifest(options: {
  repository: Repository;
  lock: AppLock;
  backup: BackupResource;
  target: ApplicationTarget;
  backupId: string;
  /** The application read for this run; absent when the backup was committed already. */
  app?: ApplicationSnapshot;
  recorder: StatusRecorder;
}): Promise<{ step: string; message: string; change: Partial<BackupStatus> }> {
  const { recorder, target, backupId } = options;
  const volumes = recorder.status.volumes ?? [];
  const completed = volumes.filter(v => v.phase === 'Completed' && v.record);
  if (volumes.length > 0 && completed.length === 0) {
    throw new Error(
      `no volume could be backed up: ${volumes
        .map(v => `${v.pvc}: ${v.reason ?? v.phase}`)
        .join('; ')}`,
    );
  }
  const committed = await options.repository.isCommitted(target.appId, backupId);
  await recorder.event(
    'Commit',
    committed ? `The manifest of ${backupId} was written before the interruption` : `Writing the manifest of ${backupId}`,
  );
  const manifest = committed
    ? await options.repository.readManifest(target.appId, backupId)
    : await options.repository.commitBackup({
    app: target.appId,
    backupId,
    lock: options.lock,
    volumes: completed.map(v => ({ pvc: v.pvc, record: v.record! })),
    ...(recorder.status.imageBackup?.index ? { images: recorder.status.imageBackup.index } : {}),
    createdAt: recorder.status.startedAt,
    metadata: {
      entityRef: target.entityRef,
      cluster: target.cluster,
      namespace: target.namespace,
      backupResource: `${options.backup.metadata.namespace}/${options.backup.metadata.name}`,
      type: recorder.status.type === 'Incremental' ? 'incremental' : 'full',
      policy: target.policy,
      application: target.application,
      images: options.app?.images ?? [],
      resources: recorder.status.resources,
      requestedBy:
        options.backup.metadata.annotations?.['ferry.io/requested-by'],
      // The policy whose schedule started it: retention counts it after an index rebuild too.
      schedule: options.backup.metadata.labels?.[SCHEDULE_LABEL],
    },
  });
  const protection = protectionOfManifest(manifest);
  const failed = volumes.filter(v => v.phase === 'Failed');
  const hookFailures = (recorder.status.failures ?? []).filter(
    f => f.kind === 'Hook',
  );
  const imageFailures = (recorder.status.imageBackup?.images ?? []).filter(i => !i.stored);
  const storedBytes = completed.reduce(
    (sum, v) => sum + (v.storedBytes ?? 0),
    0,
  );
  const logicalBytes = manifest.volumes.reduce(
    (sum, v) => sum + v.virtualSize,
    0,
  );
  const partial = failed.length > 0 || hookFailures.length > 0 || imageFailures.length > 0;
  return {
    step: partial ? 'PartiallyFailed' : 'Completed',
    message: partial
      ? `Committed with failures: ${[
          ...failed.map(v => v.pvc),
          ...hookFailures.map(f => `hook ${f.name}`),
          ...imageFailures.map(i => `image ${i.image}`),
        ].join(', ')}`
      : `Committed ${completed.length} volumes, ${storedBytes} bytes stored`,
    change: {
      phase: partial ? 'PartiallyFailed' : 'Completed',
      completedAt: new Date().toISOString(),
      storedBytes,
      logicalBytes,
      ...(protection ? { protection } : {}),
    },
  };
}
