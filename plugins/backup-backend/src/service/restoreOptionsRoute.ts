import type { HttpAuthService, PermissionsService } from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  backupRestoreAnywherePermission,
  backupRestorePermission,
  backupRestorePrivilegedPermission,
  RestoreOptions,
} from '@ferry/plugin-backup-common';
import type { Router } from 'express';
import { userGrants } from '../access/RestoreGrants';
import type { FerryConfig } from '../config/FerryConfig';
import { resolveApplication } from '../mapping/resolveApplication';
import type { EntityAccess } from './EntityAccess';
import { entityParamsSchema, parseInput } from './validation';

export interface RestoreOptionsRouteOptions {
  router: Router;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  entityAccess: EntityAccess;
  clusterNames: () => string[];
  ferryConfig: FerryConfig;
}

/**
 * `GET /entities/:kind/:namespace/:name/restore-options` → RestoreOptions: where the caller may
 * restore the entity's backups (permission `backup.restore` on the entity, decided before it is
 * looked up), from the same grants a restore is checked against (`userGrants`). Reads nothing
 * from any cluster.
 */
export function registerRestoreOptionsRoute(options: RestoreOptionsRouteOptions): void {
  const { router, httpAuth, permissions, entityAccess, ferryConfig } = options;
  router.get('/entities/:kind/:namespace/:name/restore-options', async (req, res) => {
    const entityRef = parseInput(entityParamsSchema, req.params, 'path');
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const entity = await entityAccess.authorize({ entityRef, permission: backupRestorePermission, credentials });
    const target = resolveApplication({ entity, clusters: options.clusterNames(), ferryConfig });
    const [anywhere, privileged] = await permissions.authorize(
      [{ permission: backupRestoreAnywherePermission }, { permission: backupRestorePrivilegedPermission }],
      { credentials },
    );
    const grants = userGrants({
      namespace: target.namespace,
      anywhere: anywhere.result === AuthorizeResult.ALLOW,
      privileged: privileged.result === AuthorizeResult.ALLOW,
    });
    const everywhere = grants.namespaces === 'any';
    const body: RestoreOptions = {
      cluster: target.cluster,
      namespace: target.namespace,
      clusters: everywhere ? options.clusterNames() : [target.cluster],
      anywhere: everywhere,
      privileged: grants.privileged,
    };
    res.json(body);
  });
}
