import type { LoggerService } from '@backstage/backend-plugin-api';
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
      run: (backup, recorder) =>
        options.runner.run({
          backup,
          target: backupTarget(options.kube.cluster, backup),
          recorder,
        }),
    });
  }
}
