import type { LoggerService } from '@backstage/backend-plugin-api';
import { checkBackupScope, EntityResolver } from '../access/operationScope';
import type { BackupRunner } from '../pipeline/BackupRunner';
import type { KubeClients } from '../pipeline/KubeClients';
import { BACKUP_KIND, BACKUP_PLURAL, BackupResource, BackupStatus } from './BackupResource';
import { backupTarget } from './backupTarget';
import { OperationController } from './OperationController';

export interface BackupControllerOptions {
  kube: KubeClients;
  runner: BackupRunner;
  logger: LoggerService;
  /** Namespace of the leader-election Lease (must exist). */
  leaseNamespace: string;
  /** Called with every status the controller writes, and every Backup it sees. */
  onBackup?: (cluster: string, backup: BackupResource) => void | Promise<void>;
  /** How many backups this controller runs at once in one cluster. */
  concurrency?: number;
  /** Ferry's own namespace: Backups there act for the platform (access/operationScope). */
  ferryNamespace: string;
  /** Resolves the entity a Backup names, to check that it may back up for it. */
  resolveEntity: EntityResolver;
}

/** The Backup controller of one cluster (Lease `ferry-backup-controller`). */
export class BackupController extends OperationController<BackupStatus, BackupResource> {
  constructor(options: BackupControllerOptions) {
    super({
      kube: options.kube,
      logger: options.logger,
      kind: BACKUP_KIND,
      plural: BACKUP_PLURAL,
      leaseName: 'ferry-backup-controller',
      leaseNamespace: options.leaseNamespace,
      concurrency: options.concurrency ?? 4,
      onResource: options.onBackup,
      run: async (backup, recorder) => {
        // DESIGN §8: a Backup carries only the power of its namespace; refused before any step.
        try {
          await checkBackupScope({
            backup,
            cluster: options.kube.cluster,
            ferryNamespace: options.ferryNamespace,
            resolveEntity: options.resolveEntity,
          });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          options.logger.warn(`Refusing Backup ${backup.metadata.namespace}/${backup.metadata.name}: ${message}`);
          await recorder.event('Failed', message, { phase: 'Failed', message, completedAt: new Date().toISOString() });
          await recorder.close().catch(() => undefined);
          return;
        }
        await options.runner.run({ backup, target: backupTarget(options.kube.cluster, backup), recorder });
      },
    });
  }
}
