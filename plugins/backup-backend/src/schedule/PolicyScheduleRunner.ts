import type { LoggerService } from '@backstage/backend-plugin-api';
import type { Entity } from '@backstage/catalog-model';
import type { BackupSummary } from '@ferry/plugin-backup-common';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import type { FerryConfig, PolicyConfig } from '../config/FerryConfig';
import type { OperationIndex } from '../database/OperationIndex';
import type { BackupService } from '../service/BackupService';
import type { RetentionEnforcer, RetentionReport } from './RetentionEnforcer';
import { selectPolicyEntities } from './selectPolicyEntities';
import { StartedBackup, waitForBackups } from './waitForBackups';

export interface PolicyRunReport {
  policy: string;
  started: StartedBackup[];
  /** Entities skipped because a backup of theirs was still running. */
  skipped: Array<{ entityRef: string; runningBackupId: string }>;
  /** Entities whose backup could not be created, with the reason. */
  failed: Array<{ entityRef: string; reason: string }>;
  /** Started backups that ended, with their phase. */
  finished: Array<{ entityRef: string; id: string; phase: BackupSummary['phase'] }>;
  /** Started backups still running when the run stopped waiting. */
  unfinished: StartedBackup[];
  retention?: RetentionReport;
}

export interface PolicyScheduleRunnerOptions {
  /** The catalog entities carrying Ferry's annotations (`listAnnotatedEntities`). */
  listEntities: () => Promise<Entity[]>;
  clusterNames: () => string[];
  ferryConfig: FerryConfig;
  backups: Pick<BackupService, 'createBackup' | 'getBackup'>;
  index: Pick<OperationIndex, 'allBackups'>;
  retention: Pick<RetentionEnforcer, 'enforce'>;
  logger: LoggerService;
  /** How long a run waits for its backups before retention (default 1 h); the rest wait for the periodic pass. */
  waitLimitMs?: number;
  pollIntervalMs?: number;
}

/**
 * One scheduled run of a policy, as Velero's schedule controller does: a Backup (trigger
 * `schedule`, type Auto so `fullEvery` decides full or incremental) for every entity the policy
 * applies to, then, once they ended, the policy's `keepLast` on those applications.
 */
export class PolicyScheduleRunner {
  constructor(private readonly options: PolicyScheduleRunnerOptions) {}

  async run(request: { policy: PolicyConfig; signal?: AbortSignal }): Promise<PolicyRunReport> {
    const { policy, signal } = request;
    const { logger, backups } = this.options;
    const report: PolicyRunReport = {
      policy: policy.name,
      started: [],
      skipped: [],
      failed: [],
      finished: [],
      unfinished: [],
    };
    const { selected, unresolved } = selectPolicyEntities({
      entities: await this.options.listEntities(),
      policy,
      clusters: this.options.clusterNames(),
      ferryConfig: this.options.ferryConfig,
    });
    for (const { entityRef, reason } of unresolved) {
      report.failed.push({ entityRef, reason });
      logger.warn(`Scheduled backup of ${entityRef} for policy ${policy.name} not started: ${reason}`);
    }
    const running = runningByEntity(await this.options.index.allBackups());
    for (const target of selected) {
      if (signal?.aborted) break;
      const busy = running.get(target.entityRef);
      if (busy) {
        report.skipped.push({ entityRef: target.entityRef, runningBackupId: busy.id });
        logger.info(
          `Skipping scheduled backup of ${target.entityRef} for policy ${policy.name}: backup ${busy.id} is still ${busy.phase}`,
        );
        continue;
      }
      try {
        const summary = await backups.createBackup({
          target,
          request: { type: 'auto', policy: policy.name },
          schedule: policy.name,
        });
        report.started.push({ entityRef: target.entityRef, id: summary.id });
        logger.info(`Started scheduled backup ${summary.id} of ${target.entityRef} for policy ${policy.name}`);
      } catch (error) {
        const reason = (error as Error).message;
        report.failed.push({ entityRef: target.entityRef, reason });
        logger.warn(`Scheduled backup of ${target.entityRef} for policy ${policy.name} not started: ${reason}`);
      }
    }
    logger.info(
      `Policy ${policy.name}: ${report.started.length} scheduled backup(s) started, ${report.skipped.length} skipped, ${report.failed.length} not started`,
    );

    const waited = await waitForBackups({
      backups,
      started: report.started,
      limitMs: this.options.waitLimitMs ?? 3600_000,
      pollIntervalMs: this.options.pollIntervalMs ?? 2_000,
      signal,
    });
    report.finished = waited.finished.map(d => ({ entityRef: d.entityRef, id: d.id, phase: d.phase }));
    report.unfinished = waited.unfinished;
    for (const backup of report.finished) {
      logger.info(`Scheduled backup ${backup.id} of ${backup.entityRef} for policy ${policy.name} ended ${backup.phase}`);
    }
    if (report.unfinished.length > 0) {
      logger.info(
        `Policy ${policy.name}: ${report.unfinished.length} scheduled backup(s) still running; the periodic retention pass handles them`,
      );
    }
    if (policy.keepLast !== undefined && !signal?.aborted) {
      report.retention = await this.options.retention.enforce({ targets: selected, policies: [policy], signal });
    }
    return report;
  }
}

/** The newest non-terminal backup of each entity. */
function runningByEntity(backups: readonly BackupSummary[]): Map<string, BackupSummary> {
  const running = new Map<string, BackupSummary>();
  for (const backup of backups) {
    if (!isTerminalPhase(backup.phase)) running.set(backup.entityRef, backup);
  }
  return running;
}
