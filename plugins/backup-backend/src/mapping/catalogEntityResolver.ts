import type { AuthService } from '@backstage/backend-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { isBackupAvailable } from '@ferry/plugin-backup-common';
import type { FerryConfig } from '../config/FerryConfig';
import { resolveApplication } from './resolveApplication';
import type { ApplicationTarget } from './types';

/**
 * Looks an entity up in the catalog with the plugin's own service credentials and resolves the
 * application it stands for, as the API does; undefined when there is no such entity, it carries
 * no Ferry annotations, or they do not resolve. Controllers use it to check what a Backup
 * resource claims about its entity (access/operationScope).
 */
export function catalogEntityResolver(options: {
  catalog: CatalogService;
  auth: AuthService;
  clusterNames: () => string[];
  ferryConfig: FerryConfig;
}): (entityRef: string) => Promise<ApplicationTarget | undefined> {
  return async entityRef => {
    let ref;
    try {
      ref = parseEntityRef(entityRef);
    } catch {
      return undefined;
    }
    const credentials = await options.auth.getOwnServiceCredentials();
    const entity = await options.catalog.getEntityByRef(ref, { credentials });
    if (!entity || !isBackupAvailable(entity)) return undefined;
    try {
      return resolveApplication({ entity, clusters: options.clusterNames(), ferryConfig: options.ferryConfig });
    } catch {
      return undefined;
    }
  };
}
