import type { AuthService } from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import type { Entity } from '@backstage/catalog-model';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { APPLICATION_ANNOTATIONS, isBackupAvailable } from '@ferry/plugin-backup-common';

/**
 * Every catalog entity that carries one of the annotations telling Ferry what to back up, read
 * with the plugin's own service credentials (a schedule acts for no user).
 */
export async function listAnnotatedEntities(options: {
  catalog: CatalogService;
  auth: AuthService;
}): Promise<Entity[]> {
  const credentials = await options.auth.getOwnServiceCredentials();
  const { items } = await options.catalog.getEntities(
    {
      filter: APPLICATION_ANNOTATIONS.map(name => ({
        [`metadata.annotations.${name}`]: CATALOG_FILTER_EXISTS,
      })),
    },
    { credentials },
  );
  return items.filter(isBackupAvailable);
}
