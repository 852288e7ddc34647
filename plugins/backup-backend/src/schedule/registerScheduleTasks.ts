import type { LoggerService, SchedulerService } from '@backstage/backend-plugin-api';
import type { Entity } from '@backstage/catalog-model';
import type { FerryConfig } from '../config/FerryConfig';
import type { PolicyScheduleRunner } from './PolicyScheduleRunner';
import type { RetentionEnforcer } from './RetentionEnforcer';
import { resolveEntities } from './resolveEntities';

/** The scheduler task id of a policy's schedule. */
export const policyTaskId = (policy: string) => `ferry-policy-${policy}`;
/** The scheduler task id of the periodic retention pass. */
export const RETENTION_TASK_ID = 'ferry-retention';

export interface RegisterScheduleTasksOptions {
  scheduler: SchedulerService;
  ferryConfig: FerryConfig;
  runner: Pick<PolicyScheduleRunner, 'run'>;
  retention: Pick<RetentionEnforcer, 'enforce'>;
  listEntities: () => Promise<Entity[]>;
  clusterNames: () => string[];
  logger: LoggerService;
}

/**
 * Registers, on Backstage's scheduler with global scope (one replica runs each run), a task per
 * policy with a `schedule` (its cron) and, when any policy has `keepLast`, a retention pass every
 * 15 minutes that also catches backups a scheduled run stopped waiting for.
 */
export async function registerScheduleTasks(options: RegisterScheduleTasksOptions): Promise<void> {
  const { scheduler, ferryConfig, logger } = options;
  for (const policy of ferryConfig.policies) {
    if (policy.keepLast !== undefined && !policy.schedule) {
      logger.warn(
        `Policy ${policy.name} has keepLast ${policy.keepLast} but no schedule: retention counts only backups its schedule started, so it deletes nothing`,
      );
    }
    if (!policy.schedule) continue;
    await scheduler.scheduleTask({
      id: policyTaskId(policy.name),
      frequency: { cron: policy.schedule },
      // A run waits up to an hour for its backups, then applies keepLast.
      timeout: { minutes: 90 },
      scope: 'global',
      fn: async signal => {
        try {
          await options.runner.run({ policy, signal });
        } catch (error) {
          logger.error(`Scheduled run of policy ${policy.name} failed: ${(error as Error).message}`);
          throw error;
        }
      },
    });
    logger.info(`Scheduled policy ${policy.name} at '${policy.schedule}'`);
  }
  const retained = ferryConfig.policies.filter(policy => policy.keepLast !== undefined);
  if (retained.length === 0) return;
  await scheduler.scheduleTask({
    id: RETENTION_TASK_ID,
    frequency: { minutes: 15 },
    timeout: { minutes: 10 },
    initialDelay: { minutes: 1 },
    scope: 'global',
    fn: async signal => {
      const targets = resolveEntities({
        entities: await options.listEntities(),
        clusters: options.clusterNames(),
        ferryConfig,
      });
      await options.retention.enforce({ targets, policies: retained, signal });
    },
  });
}
