import type { LoggerService } from '@backstage/backend-plugin-api';
import type { BackupSummary } from '@ferry/plugin-backup-common';
import type { Manifest } from '@ferry/repository';
import type { OperationIndex } from '../database/OperationIndex';
import type { TargetRegistry } from '../targets/TargetRegistry';
import { protectionOfManifest } from '../protection/backupProtection';

function triggerOf(requestedBy: string | undefined, schedule: string | undefined): BackupSummary['trigger'] {
  if (requestedBy) return { type: 'user', userEntityRef: requestedBy };
  if (schedule) return { type: 'schedule', policy: schedule };
  return { type: 'kubernetes' };
}

/** The index row of a committed backup, from its manifest alone (disaster recovery). */
export function summaryFromManifest(target: string, manifest: Manifest): BackupSummary | undefined {
  const meta = manifest.metadata as Record<string, unknown>;
  const text = (key: string) => (typeof meta[key] === 'string' ? (meta[key] as string) : undefined);
  const entityRef = text('entityRef');
  if (!entityRef) return undefined;
  const requestedBy = text('requestedBy');
  const schedule = text('schedule');
  return {
    id: manifest.backupId,
    entityRef,
    cluster: text('cluster') ?? '',
    namespace: text('namespace') ?? '',
    target,
    kind: text('type') === 'incremental' ? 'incremental' : 'full',
    phase: 'Completed',
    policy: text('policy'),
    trigger: triggerOf(requestedBy, schedule),
    createdAt: manifest.createdAt,
    completedAt: manifest.committedAt,
    logicalBytes: manifest.volumes.reduce((sum, v) => sum + v.virtualSize, 0),
    storedBytes: manifest.volumes.reduce((sum, v) => sum + v.storedBytes, 0),
  };
}

/**
 * Rebuilds the index from the targets (DESIGN §3: the database is never the only copy): every
 * committed backup of every application on every configured target that the index does not know
 * is added. Rows the controllers wrote (with live status) are left as they are.
 */
export async function syncFromRepositories(options: {
  targets: TargetRegistry;
  index: OperationIndex;
  logger: LoggerService;
}): Promise<{ added: number }> {
  let added = 0;
  for (const name of options.targets.names()) {
    try {
      const repository = await options.targets.repository(name);
      for (const app of await repository.listApps()) {
        for (const backupId of await repository.listBackups(app)) {
          if (await options.index.hasBackup(backupId)) continue;
          const manifest = await repository.readManifest(app, backupId);
          const summary = summaryFromManifest(name, manifest);
          if (!summary) continue;
          const protection = protectionOfManifest(manifest);
          await options.index.upsertBackup(summary, protection ? { detail: { protection } } : {});
          added += 1;
        }
      }
    } catch (error) {
      options.logger.warn(`Could not read the backups on target ${name}: ${error}`);
    }
  }
  if (added > 0) {
    options.logger.info(`Indexed ${added} backup(s) found on the targets`);
  }
  return { added };
}
