import type { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import type {
  BackupDetail,
  BackupSummary,
  CreateBackupRequest,
} from '@ferry/plugin-backup-common';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import { AppLock, deleteBackup, newBackupId } from '@ferry/repository';
import type { FerryConfig } from '../config/FerryConfig';
import type { EntityResolver } from '../access/operationScope';
import { ControllerSet } from '../controller/ControllerSet';
import { BackupController } from '../controller/BackupController';
import {
  BACKUP_KIND,
  BACKUP_PLURAL,
  BackupResource,
  BackupStatus,
  ENTITY_REF_ANNOTATION,
  FERRY_GROUP,
  FERRY_VERSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  REQUESTED_BY_ANNOTATION,
} from '../controller/BackupResource';
import { APP_ID_ANNOTATION } from '../controller/backupTarget';
import {
  BACKUP_ID_ANNOTATION,
  SCHEDULE_LABEL,
  toBackupDetail,
  toBackupSummary,
} from '../controller/backupSummary';
import type { OperationIndex } from '../database/OperationIndex';
import type { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import { describeKubernetesError } from '../kubernetes/describeKubernetesError';
import { collectApplication } from '../mapping/collectApplication';
import type { ApplicationTarget } from '../mapping/types';
import { BackupRunner } from '../pipeline/BackupRunner';
import { isNotFound, KubeClients } from '../pipeline/KubeClients';
import { protectionError } from '../protection/protectionErrors';
import type { TargetRegistry } from '../targets/TargetRegistry';

/**
 * Backups of entities across clusters: starts one Backup controller per configured cluster and
 * serves the API's backup operations. Creating a backup creates a Backup resource; the elected
 * controller runs it.
 */
export class BackupService {
  private readonly kubes = new Map<string, Promise<KubeClients>>();
  private readonly controllers: ControllerSet<BackupController>;

  constructor(
    private readonly options: {
      clusters: ClusterRegistry;
      targets: TargetRegistry;
      config: FerryConfig;
      index: OperationIndex;
      logger: LoggerService;
      /** Namespace of the controllers' Lease in every cluster. */
      leaseNamespace?: string;
      /** Resolves the entity a Backup resource names (access/operationScope). */
      resolveEntity: EntityResolver;
    },
  ) {
    this.controllers = new ControllerSet({
      kind: 'backup',
      clusterNames: () => options.clusters.clusterNames(),
      create: cluster => this.createController(cluster),
      logger: options.logger,
    });
  }

  /** Starts the controllers; a cluster that is down is left out (logged). */
  async start(): Promise<void> {
    await this.controllers.start();
  }

  async stop(): Promise<void> {
    await this.controllers.stop();
  }

  private async createController(cluster: string): Promise<BackupController> {
    const kube = await this.kube(cluster);
    const logger = this.options.logger.child({ cluster });
    const runner = new BackupRunner({
      kube,
      targets: this.options.targets,
      config: this.options.config,
      logger,
      collect: target =>
        collectApplication({ kubeConfig: kube.kubeConfig, target, logger: this.options.logger }),
    });
    return new BackupController({
      kube,
      runner,
      logger,
      leaseNamespace: this.options.leaseNamespace ?? 'kube-system',
      concurrency: 4,
      ferryNamespace: this.options.config.controller.namespace,
      resolveEntity: this.options.resolveEntity,
      onBackup: (c, backup) => this.indexBackup(c, backup),
    });
  }

  private async indexBackup(cluster: string, backup: BackupResource): Promise<void> {
    const summary = toBackupSummary(cluster, backup);
    if (!summary) return;
    try {
      await this.options.index.upsertBackup(summary, {
        resourceName: `${backup.metadata.namespace}/${backup.metadata.name}`,
        detail: backup.status ?? {},
      });
    } catch (error) {
      this.options.logger.warn(`Could not index backup ${summary.id}: ${error}`);
    }
  }

  kube(cluster: string): Promise<KubeClients> {
    let kube = this.kubes.get(cluster);
    if (!kube) {
      kube = this.options.clusters
        .getKubeConfig(cluster)
        .then(kubeConfig => new KubeClients(cluster, kubeConfig));
      kube.catch(() => this.kubes.delete(cluster));
      this.kubes.set(cluster, kube);
    }
    return kube;
  }

  /** Creates the Backup resource of a UI/API request; the controller does the rest. */
  async createBackup(options: {
    target: ApplicationTarget;
    request: CreateBackupRequest;
    userEntityRef?: string;
    /** The policy whose schedule starts this backup (label `ferry.io/schedule`, trigger `schedule`). */
    schedule?: string;
  }): Promise<BackupSummary> {
    const { target, request } = options;
    const policy = this.options.config.policies.find(
      p => p.name === (request.policy ?? target.policy),
    );
    if (request.policy && !policy) {
      throw new InputError(`policy: no policy named '${request.policy}'`);
    }
    const targetName = request.target ?? policy?.target ?? this.options.targets.defaultName();
    if (!targetName) {
      throw new InputError('target: no target is configured (ferry.targets in app-config)');
    }
    if (!this.options.targets.names().includes(targetName)) {
      throw new InputError(
        `target: no target named '${targetName}'; configured targets: ${this.options.targets.names().join(', ')}`,
      );
    }
    const backupId = newBackupId();
    const backup: BackupResource = {
      apiVersion: `${FERRY_GROUP}/${FERRY_VERSION}`,
      kind: BACKUP_KIND,
      metadata: {
        name: `ferry-${backupId.toLowerCase()}`,
        namespace: target.namespace,
        labels: {
          [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
          ...(options.schedule ? { [SCHEDULE_LABEL]: options.schedule } : {}),
        },
        annotations: {
          [ENTITY_REF_ANNOTATION]: target.entityRef,
          [APP_ID_ANNOTATION]: target.appId,
          [BACKUP_ID_ANNOTATION]: backupId,
          ...(options.userEntityRef ? { [REQUESTED_BY_ANNOTATION]: options.userEntityRef } : {}),
        },
      },
      spec: {
        application: target.application,
        target: targetName,
        type: ({ auto: 'Auto', full: 'Full', incremental: 'Incremental' } as const)[request.type ?? 'auto'],
        ...(policy ? { policy: policy.name } : {}),
        skipImageBackup: request.skipImageBackup ?? policy?.skipImageBackup ?? false,
      },
    };
    const kube = await this.kube(target.cluster);
    let created: BackupResource;
    try {
      created = (await kube.custom.createNamespacedCustomObject({
        group: FERRY_GROUP,
        version: FERRY_VERSION,
        plural: BACKUP_PLURAL,
        namespace: target.namespace,
        body: backup,
      })) as BackupResource;
    } catch (error) {
      if (isNotFound(error)) {
        throw new NotFoundError(
          `cannot create a backup in namespace ${target.namespace} of cluster ${target.cluster}: the namespace or the Backup resource type (crds/ferry.io_backups.yaml) does not exist`,
        );
      }
      throw describeKubernetesError(error, { name: target.cluster, url: kube.kubeConfig.getCurrentCluster()?.server ?? '' });
    }
    const summary = toBackupSummary(target.cluster, created)!;
    await this.indexBackup(target.cluster, created);
    return summary;
  }

  async getBackup(options: { entityRef: string; id: string }): Promise<BackupDetail> {
    const indexed = await this.options.index.getBackup(options);
    if (!indexed) {
      throw new NotFoundError(`no backup ${options.id} of ${options.entityRef}`);
    }
    return toBackupDetail({
      summary: indexed.summary,
      resourceName: indexed.resourceName,
      status: indexed.detail as BackupStatus | undefined,
    });
  }

  /**
   * Deletes a finished backup from its target (kept chains stay restorable: images they need are
   * kept) and its Backup resource.
   */
  async deleteBackup(options: { target: ApplicationTarget; id: string }): Promise<void> {
    const detail = await this.getBackup({ entityRef: options.target.entityRef, id: options.id });
    if (!isTerminalPhase(detail.phase)) {
      throw new ConflictError(`backup ${options.id} is still running; delete it once it ends`);
    }
    const repository = await this.options.targets.repository(detail.target);
    const lock = await AppLock.acquire({
      target: repository.target,
      app: options.target.appId,
      owner: `delete of ${options.id}`,
      leaseMs: 60_000,
    }).catch(error => {
      throw new ConflictError(`cannot delete backup ${options.id} now: ${error.message}`);
    });
    try {
      if ((await repository.listBackups(options.target.appId)).includes(options.id)) {
        // a backup under Object Lock: 409 with the date, nothing deleted (retention logs it)
        await deleteBackup(repository, { app: options.target.appId, backupId: options.id, lock }).catch(error => {
          throw protectionError(error);
        });
      }
    } finally {
      await lock.release();
    }
    if (detail.resourceName) {
      const [namespace, name] = detail.resourceName.split('/');
      const kube = await this.kube(detail.cluster);
      await kube.custom
        .deleteNamespacedCustomObject({ group: FERRY_GROUP, version: FERRY_VERSION, plural: BACKUP_PLURAL, namespace, name })
        .catch(error => {
          if (!isNotFound(error)) throw error;
        });
    }
    await this.options.index.deleteBackup(options.id);
  }
}
