import type {
  AuditorService,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  backupReadPermission,
  HealthResponse,
  ListBackupsResponse,
  ListClustersResponse,
  ListRestoresResponse,
} from '@ferry/plugin-backup-common';
import { stringifyEntityRef } from '@backstage/catalog-model';
import express from 'express';
import Router from 'express-promise-router';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type { FerryConfig } from '../config/FerryConfig';
import type { OperationIndex } from '../database/OperationIndex';
import type { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import type { TargetRegistry } from '../targets/TargetRegistry';
import { registerBackupRoutes } from './backupRoutes';
import { registerOverviewRoutes } from './overviewRoutes';
import type { BackupService } from './BackupService';
import type { EntityAccess } from './EntityAccess';
import { registerPlanRoute } from './planRoute';
import { registerRestoreRoutes } from './restoreRoutes';
import type { RestoreService } from './RestoreService';
import { entityParamsSchema, pageSchema, parseInput } from './validation';

export interface RouterOptions {
  httpAuth: HttpAuthService;
  auditor: AuditorService;
  logger: LoggerService;
  entityAccess: EntityAccess;
  operationIndex: OperationIndex;
  clusters: ClusterRegistry;
  ferryConfig: FerryConfig;
  backups: BackupService;
  restores: RestoreService;
  permissions: PermissionsService;
  catalog: CatalogService;
  targets: TargetRegistry;
}

export async function createRouter(options: RouterOptions): Promise<express.Router> {
  const { httpAuth, entityAccess, operationIndex } = options;
  const router = Router();
  router.use(express.json());

  router.get('/health', (_req, res) => {
    const body: HealthResponse = { status: 'ok' };
    res.json(body);
  });

  /** Resolves and authorizes the entity named in the path, then reads one page of its history. */
  const entityRequest = async (req: express.Request) => {
    const entityRef = parseInput(entityParamsSchema, req.params, 'entity reference');
    const page = parseInput(pageSchema, req.query, 'query');
    const entity = await entityAccess.authorize({
      entityRef,
      permission: backupReadPermission,
      credentials: await httpAuth.credentials(req, { allow: ['user', 'service'] }),
    });
    return { entityRef: stringifyEntityRef(entity), page };
  };

  /** The clusters a restore may name (signed-in users; the names only). */
  router.get('/clusters', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const body: ListClustersResponse = { items: options.clusters.clusterNames().map(name => ({ name })) };
    res.json(body);
  });

  router.get('/entities/:kind/:namespace/:name/backups', async (req, res) => {
    const query = await entityRequest(req);
    const body: ListBackupsResponse = {
      entityRef: query.entityRef,
      ...(await operationIndex.listBackups(query)),
    };
    res.json(body);
  });

  router.get('/entities/:kind/:namespace/:name/restores', async (req, res) => {
    const query = await entityRequest(req);
    const body: ListRestoresResponse = {
      entityRef: query.entityRef,
      ...(await operationIndex.listRestores(query)),
    };
    res.json(body);
  });

  registerPlanRoute({
    router,
    httpAuth,
    entityAccess,
    clusters: options.clusters,
    ferryConfig: options.ferryConfig,
    logger: options.logger,
  });
  registerOverviewRoutes({
    router,
    httpAuth,
    permissions: options.permissions,
    entityAccess,
    catalog: options.catalog,
    index: operationIndex,
    targets: options.targets,
    ferryConfig: options.ferryConfig,
    clusterNames: () => options.clusters.clusterNames(),
  });
  registerBackupRoutes({
    router,
    httpAuth,
    auditor: options.auditor,
    entityAccess,
    backups: options.backups,
    clusterNames: () => options.clusters.clusterNames(),
    ferryConfig: options.ferryConfig,
  });
  registerRestoreRoutes({
    router,
    httpAuth,
    auditor: options.auditor,
    permissions: options.permissions,
    entityAccess,
    restores: options.restores,
    clusterNames: () => options.clusters.clusterNames(),
    ferryConfig: options.ferryConfig,
  });

  return router;
}
