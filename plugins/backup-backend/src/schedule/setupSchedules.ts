import type {
  AuthService,
  LoggerService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type { FerryConfig } from '../config/FerryConfig';
import type { OperationIndex } from '../database/OperationIndex';
import type { BackupService } from '../service/BackupService';
import { listAnnotatedEntities } from './listAnnotatedEntities';
import { PolicyScheduleRunner } from './PolicyScheduleRunner';
import { registerScheduleTasks } from './registerScheduleTasks';
import { RetentionEnforcer } from './RetentionEnforcer';

/** Wires policies' schedules and retention onto Backstage's scheduler (called from plugin.ts). */
export async function setupSchedules(options: {
  scheduler: SchedulerService;
  auth: AuthService;
  catalog: CatalogService;
  ferryConfig: FerryConfig;
  backups: BackupService;
  index: OperationIndex;
  clusterNames: () => string[];
  logger: LoggerService;
}): Promise<PolicyScheduleRunner> {
  const logger = options.logger.child({ component: 'schedules' });
  const listEntities = () => listAnnotatedEntities({ catalog: options.catalog, auth: options.auth });
  const retention = new RetentionEnforcer({ backups: options.backups, index: options.index, logger });
  const runner = new PolicyScheduleRunner({
    listEntities,
    clusterNames: options.clusterNames,
    ferryConfig: options.ferryConfig,
    backups: options.backups,
    index: options.index,
    retention,
    logger,
  });
  await registerScheduleTasks({
    scheduler: options.scheduler,
    ferryConfig: options.ferryConfig,
    runner,
    retention,
    listEntities,
    clusterNames: options.clusterNames,
    logger,
  });
  return runner;
}
