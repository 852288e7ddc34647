import type { LoggerService } from '@backstage/backend-plugin-api';
import type { KubeClients } from '../pipeline/KubeClients';
import type { RestoreRunner } from '../pipeline/RestoreRunner';
import { OperationController } from './OperationController';
import { RESTORE_PLURAL, RestoreResource, RestoreStatus } from './RestoreResource';

export interface RestoreControllerOptions {
  kube: KubeClients;
  runner: RestoreRunner;
  logger: LoggerService;
  /** Namespace of the leader-election Lease (must exist). */
  leaseNamespace: string;
  /** Called with every status the controller writes, and every Restore it sees. */
  onRestore?: (cluster: string, restore: RestoreResource) => void | Promise<void>;
  concurrency?: number;
}

/** The Restore controller of one cluster (Lease `ferry-restore-controller`). */
export class RestoreController extends OperationController<RestoreStatus, RestoreResource> {
  constructor(options: RestoreControllerOptions) {
    super({
      kube: options.kube,
      logger: options.logger,
      kind: 'Restore',
      plural: RESTORE_PLURAL,
      leaseName: 'ferry-restore-controller',
      leaseNamespace: options.leaseNamespace,
      concurrency: options.concurrency ?? 2,
      onResource: options.onRestore,
      run: (restore, recorder) => options.runner.run({ restore, recorder }),
    });
  }
}
