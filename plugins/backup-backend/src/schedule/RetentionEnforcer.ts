import type { LoggerService } from '@backstage/backend-plugin-api';
import { isError } from '@backstage/errors';
import type { BackupSummary } from '@ferry/plugin-backup-common';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import type { PolicyConfig } from '../config/FerryConfig';
import type { OperationIndex } from '../database/OperationIndex';
import type { ApplicationTarget } from '../mapping/types';
import type { BackupService } from '../service/BackupService';
import { chooseRetention } from './chooseRetention';

/** One backup retention deleted, or could not delete. */
export interface RetentionOutcome {
  entityRef: string;
  policy: string;
  backupId: string;
  error?: string;
}

export interface RetentionReport {
  deleted: RetentionOutcome[];
  failed: RetentionOutcome[];
  /** Applications left alone this time because a backup of theirs is running. */
  busy: string[];
}

export interface RetentionEnforcerOptions {
  /** The API's delete path: keeps images that remaining backups' chains need. */
  backups: Pick<BackupService, 'deleteBackup'>;
  index: Pick<OperationIndex, 'allBackups'>;
  logger: LoggerService;
}

/**
 * Applies the policies' `keepLast` to applications' scheduled backups (see `chooseRetention` for
 * what is counted and what always stays). Deletes through `BackupService.deleteBackup`, the path
 * of `DELETE /backups/:id`. An application with a running backup is left for the next pass (its
 * repository lock is held); a failed deletion is logged and the others go on.
 */
export class RetentionEnforcer {
  constructor(private readonly options: RetentionEnforcerOptions) {}

  async enforce(request: {
    targets: readonly ApplicationTarget[];
    policies: ReadonlyArray<Pick<PolicyConfig, 'name' | 'keepLast'>>;
    signal?: AbortSignal;
  }): Promise<RetentionReport> {
    const { logger } = this.options;
    const report: RetentionReport = { deleted: [], failed: [], busy: [] };
    const policies = request.policies.filter(p => p.keepLast !== undefined);
    if (policies.length === 0 || request.targets.length === 0) return report;
    const byEntity = groupByEntity(await this.options.index.allBackups());
    for (const target of request.targets) {
      if (request.signal?.aborted) break;
      const backups = byEntity.get(target.entityRef) ?? [];
      const running = backups.find(b => !isTerminalPhase(b.phase));
      if (running) {
        logger.info(
          `Retention leaves ${target.entityRef} for the next pass: backup ${running.id} is ${running.phase}`,
        );
        report.busy.push(target.entityRef);
        continue;
      }
      for (const policy of policies) {
        const { remove } = chooseRetention({ backups, policy: policy.name, keepLast: policy.keepLast! });
        for (const backup of remove) {
          const outcome = { entityRef: target.entityRef, policy: policy.name, backupId: backup.id };
          try {
            await this.options.backups.deleteBackup({ target, id: backup.id });
            report.deleted.push(outcome);
            logger.info(
              `Retention deleted backup ${backup.id} of ${target.entityRef} (policy ${policy.name}, keepLast ${policy.keepLast}, ${backup.phase})`,
            );
          } catch (error) {
            // Deleted meanwhile (by the other retention task or a user): nothing left to do.
            if (isError(error) && error.name === 'NotFoundError') continue;
            const message = (error as Error).message;
            report.failed.push({ ...outcome, error: message });
            logger.warn(
              `Retention could not delete backup ${backup.id} of ${target.entityRef} (policy ${policy.name}): ${message}`,
            );
          }
        }
      }
    }
    return report;
  }
}

function groupByEntity(backups: readonly BackupSummary[]): Map<string, BackupSummary[]> {
  const byEntity = new Map<string, BackupSummary[]>();
  for (const backup of backups) {
    const list = byEntity.get(backup.entityRef) ?? [];
    list.push(backup);
    byEntity.set(backup.entityRef, list);
  }
  return byEntity;
}
