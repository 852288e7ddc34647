import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { backupPermissions } from '@ferry/plugin-backup-common';
import { readFerryConfig } from './config/readFerryConfig';
import { openDatabase } from './database/migrate';
import { OperationIndex } from './database/OperationIndex';
import { ClusterRegistry } from './kubernetes/ClusterRegistry';
import { catalogEntityResolver } from './mapping/catalogEntityResolver';
import { BackupService } from './service/BackupService';
import { EntityAccess } from './service/EntityAccess';
import { syncFromRepositories } from './service/syncFromRepositories';
import { RestoreService } from './service/RestoreService';
import { setupSchedules } from './schedule/setupSchedules';
import { createRouter } from './service/router';
import { TargetRegistry } from './targets/TargetRegistry';
import { TargetKeys } from './protection/TargetKeys';

/**
 * Ferry's backend plugin: Kubernetes application backup and restore for catalog entities.
 *
 * @public
 */
export const backupPlugin = createBackendPlugin({
  pluginId: 'backup',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        auditor: coreServices.auditor,
        lifecycle: coreServices.lifecycle,
        database: coreServices.database,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        scheduler: coreServices.scheduler,
        auth: coreServices.auth,
        catalog: catalogServiceRef,
      },
      async init(deps) {
        const ferryConfig = readFerryConfig(deps.config);
        deps.permissionsRegistry.addPermissions(backupPermissions);
        const operationIndex = new OperationIndex(await openDatabase(deps.database));
        const entityAccess = new EntityAccess({
          catalog: deps.catalog,
          permissions: deps.permissions,
        });
        const clusters = ClusterRegistry.fromConfig(deps.config);
        for (const { reason } of clusters.unsupportedClusters()) {
          deps.logger.warn(`Leaving out a Kubernetes cluster: ${reason}`);
        }
        const targets = new TargetRegistry(
          ferryConfig.targets,
          ferryConfig.defaultTarget,
          new TargetKeys({ targets: ferryConfig.targets, ferryNamespace: ferryConfig.controller.namespace, clusters }),
        );
        const backups = new BackupService({
          clusters,
          targets,
          config: ferryConfig,
          index: operationIndex,
          logger: deps.logger,
          leaseNamespace: ferryConfig.controller.leaseNamespace,
          resolveEntity: catalogEntityResolver({
            catalog: deps.catalog,
            auth: deps.auth,
            clusterNames: () => clusters.clusterNames(),
            ferryConfig,
          }),
        });
        const restores = new RestoreService({
          clusters,
          targets,
          config: ferryConfig,
          index: operationIndex,
          logger: deps.logger,
          kube: cluster => backups.kube(cluster),
          leaseNamespace: ferryConfig.controller.leaseNamespace,
        });
        deps.lifecycle.addStartupHook(() => backups.start());
        // Disaster recovery: backups on the targets that the database does not know.
        deps.lifecycle.addStartupHook(() =>
          syncFromRepositories({ targets, index: operationIndex, logger: deps.logger }).then(() => undefined),
        );
        deps.lifecycle.addStartupHook(() => restores.start());
        deps.lifecycle.addShutdownHook(() => backups.stop());
        deps.lifecycle.addShutdownHook(() => restores.stop());
        await setupSchedules({
          scheduler: deps.scheduler,
          auth: deps.auth,
          catalog: deps.catalog,
          ferryConfig,
          backups,
          index: operationIndex,
          clusterNames: () => clusters.clusterNames(),
          logger: deps.logger,
        });
        deps.httpRouter.use(
          await createRouter({
            httpAuth: deps.httpAuth,
            auditor: deps.auditor,
            logger: deps.logger,
            entityAccess,
            operationIndex,
            clusters,
            ferryConfig,
            backups,
            restores,
            permissions: deps.permissions,
            catalog: deps.catalog,
            targets,
          }),
        );
        deps.httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        deps.logger.info(
          `Ferry ready with ${ferryConfig.targets.length} target(s) and ${ferryConfig.policies.length} policy(ies)`,
        );
      },
    });
  },
});
