import type { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type { DryRunResult, RestoreDetail, RestoreRequest, RestoreSummary } from '@ferry/plugin-backup-common';
import { newBackupId } from '@ferry/repository';
import type { FerryConfig } from '../config/FerryConfig';
import {
  ENTITY_REF_ANNOTATION,
  FERRY_GROUP,
  FERRY_VERSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  REQUESTED_BY_ANNOTATION,
} from '../controller/BackupResource';
import { ControllerSet } from '../controller/ControllerSet';
import { RestoreController } from '../controller/RestoreController';
import {
  RESTORE_ID_ANNOTATION,
  RESTORE_KIND,
  RESTORE_PLURAL,
  RestoreResource,
  RestoreStatus,
} from '../controller/RestoreResource';
import { toRestoreDetail, toRestoreSummary } from '../controller/restoreSummary';
import type { OperationIndex } from '../database/OperationIndex';
import type { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import type { ApplicationTarget } from '../mapping/types';
import { createIfAbsent, isNotFound, KubeClients } from '../pipeline/KubeClients';
import { RestoreRunner } from '../pipeline/RestoreRunner';
import { RestorerPreview } from '../access/RestoreIdentity';
import type { TargetRegistry } from '../targets/TargetRegistry';
import { planRestoreImages } from '../images/planRestoreImages';
import { planObjectChanges } from './restoreDryRun';
import { RestorePermissions, validateRestore } from './validateRestore';

/**
 * Restores of entities' backups (DESIGN §4): validation and dry run here, before anything is
 * written; the run itself is a Restore resource in the target namespace that the elected
 * RestoreController of that cluster drives.
 */
export class RestoreService {
  private readonly controllers: ControllerSet<RestoreController>;

  constructor(
    private readonly options: {
      clusters: ClusterRegistry;
      targets: TargetRegistry;
      config: FerryConfig;
      index: OperationIndex;
      logger: LoggerService;
      kube: (cluster: string) => Promise<KubeClients>;
      leaseNamespace?: string;
    },
  ) {
    this.controllers = new ControllerSet({
      kind: 'restore',
      clusterNames: () => options.clusters.clusterNames(),
      create: cluster => this.createController(cluster),
      logger: options.logger,
    });
  }

  async start(): Promise<void> {
    await this.controllers.start();
  }

  async stop(): Promise<void> {
    await this.controllers.stop();
  }

  private async createController(cluster: string): Promise<RestoreController> {
    const kube = await this.options.kube(cluster);
    const logger = this.options.logger.child({ cluster });
    return new RestoreController({
      kube,
      runner: new RestoreRunner({ kube, targets: this.options.targets, config: this.options.config, logger }),
      logger,
      leaseNamespace: this.options.leaseNamespace ?? 'kube-system',
      onRestore: (c, restore) => this.indexRestore(c, restore),
    });
  }

  /**
   * Indexes a Restore under its entity: the annotation the API sets, or, for a Restore applied
   * with kubectl or GitOps, the entity of the backup it restores (once that backup is indexed).
   */
  private async indexRestore(cluster: string, restore: RestoreResource): Promise<void> {
    const summary = toRestoreSummary(cluster, restore);
    try {
      summary.entityRef ||= (await this.options.index.entityOfBackup(summary.backupId)) ?? '';
      if (!summary.entityRef) return;
      await this.options.index.upsertRestore(summary, {
        resourceName: `${restore.metadata.namespace}/${restore.metadata.name}`,
        detail: restore.status ?? {},
      });
    } catch (error) {
      this.options.logger.warn(`Could not index restore ${summary.id}: ${error}`);
    }
  }

  async dryRun(options: {
    target: ApplicationTarget;
    request: RestoreRequest;
    permissions: RestorePermissions;
  }): Promise<DryRunResult> {
    const valid = await validateRestore(this.options, options);
    const { kube, spec, types } = valid;
    const objects = spec.scope === 'data-only' ? [] : valid.objects;
    const preview = new RestorerPreview({ kube, previewId: `preview-${newBackupId().toLowerCase()}` });
    let changes;
    try {
      changes = await planObjectChanges({
        kube,
        previewIn: namespace => preview.in(namespace),
        types,
        objects,
        existing: spec.existing ?? 'skip',
        restoredClaims: new Set(valid.volumes.map(v => v.pvc)),
      });
    } finally {
      await preview.release();
    }
    const volumes = [];
    for (const volume of valid.volumes) {
      const exists = await kube.core
        .readNamespacedPersistentVolumeClaim({ namespace: valid.namespace, name: volume.pvc })
        .then(
          () => true,
          error => (isNotFound(error) ? false : Promise.reject(error)),
        );
      volumes.push({ ...volume, action: exists ? ('skip' as const) : ('create' as const) });
    }
    const images = await planRestoreImages({
      objects,
      repository: valid.repository,
      manifest: valid.manifest,
      imageRestore: Boolean(spec.imageRestore),
      insecureRegistries: this.options.config.images.insecureRegistries,
      timeoutMs: this.options.config.images.checkTimeoutSeconds * 1000,
    });
    return {
      dryRun: true,
      backupId: spec.backupId,
      cluster: valid.cluster,
      namespace: valid.namespace,
      objects: changes,
      volumes,
      unreachableImages: images.filter(i => !i.reachable).map(i => i.image),
      images,
      warnings: [
        ...images
          .filter(i => i.action === 'unavailable')
          .map(i => `image ${i.image} cannot be pulled and will not be pushed: ${i.reason}`),
        ...types.warnings,
      ],
    };
  }

  /** Creates the Restore resource (and the target namespace when absent); the controller runs it. */
  async createRestore(options: {
    target: ApplicationTarget;
    request: RestoreRequest;
    permissions: RestorePermissions;
    userEntityRef?: string;
  }): Promise<RestoreSummary> {
    const valid = await validateRestore(this.options, options);
    const { kube, namespace } = valid;
    const restoreId = newBackupId();
    // DESIGN §4, §8: the Restore lives in its target namespace when it stays within it (backup
    // taken there, nothing written elsewhere, nothing privileged); otherwise, and while the
    // target does not exist yet (the runner creates it, so nothing is written before the run),
    // in Ferry's own namespace.
    const home =
      valid.withinNamespace && (await namespaceExists(kube, namespace)) ? namespace : this.options.config.controller.namespace;
    if (home !== namespace) {
      await createIfAbsent(() => kube.core.createNamespace({ body: { metadata: { name: home } } }));
    }
    const restore: RestoreResource = {
      apiVersion: `${FERRY_GROUP}/${FERRY_VERSION}`,
      kind: RESTORE_KIND,
      metadata: {
        name: `ferry-restore-${restoreId.toLowerCase()}`,
        namespace: home,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
        annotations: {
          [ENTITY_REF_ANNOTATION]: options.target.entityRef,
          [RESTORE_ID_ANNOTATION]: restoreId,
          ...(options.userEntityRef ? { [REQUESTED_BY_ANNOTATION]: options.userEntityRef } : {}),
        },
      },
      spec: valid.spec,
    };
    let created: RestoreResource;
    try {
      created = (await kube.custom.createNamespacedCustomObject({
        group: FERRY_GROUP,
        version: FERRY_VERSION,
        plural: RESTORE_PLURAL,
        namespace: home,
        body: restore,
      })) as RestoreResource;
    } catch (error) {
      if (isNotFound(error)) {
        throw new NotFoundError(
          `cannot create a restore in namespace ${home} of cluster ${valid.cluster}: the Restore resource type (crds/ferry.io_restores.yaml) is not installed`,
        );
      }
      throw error;
    }
    await this.indexRestore(valid.cluster, created);
    return toRestoreSummary(valid.cluster, created);
  }

  async getRestore(options: { entityRef: string; id: string }): Promise<RestoreDetail> {
    const indexed = await this.options.index.getRestore(options);
    if (!indexed) {
      throw new NotFoundError(`no restore ${options.id} of ${options.entityRef}`);
    }
    return toRestoreDetail({
      summary: indexed.summary,
      resourceName: indexed.resourceName,
      status: indexed.detail as RestoreStatus | undefined,
    });
  }
}

async function namespaceExists(kube: KubeClients, name: string): Promise<boolean> {
  return kube.core.readNamespace({ name }).then(
    () => true,
    error => (isNotFound(error) ? false : Promise.reject(error)),
  );
}
