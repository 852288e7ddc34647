import type {
  AuditorService,
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  backupReadPermission,
  HealthResponse,
  ListBackupsResponse,
  ListRestoresResponse,
} from '@ferry/plugin-backup-common';
import { stringifyEntityRef } from '@backstage/catalog-model';
import express from 'express';
import Router from 'express-promise-router';
import type { FerryConfig } from '../config/FerryConfig';
import type { OperationIndex } from '../database/OperationIndex';
import type { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import { registerBackupRoutes } from './backupRoutes';
import type { BackupService } from './BackupService';
import type { EntityAccess } from './EntityAccess';
import { registerPlanRoute } from './planRoute';
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
  registerBackupRoutes({
    router,
    httpAuth,
    auditor: options.auditor,
    entityAccess,
    backups: options.backups,
    clusterNames: () => options.clusters.clusterNames(),
    ferryConfig: options.ferryConfig,
  });

  return router;
}
