import type { Entity } from '@backstage/catalog-model';
import { useRouteRef } from '@backstage/core-plugin-api';
import { entityRouteParams, entityRouteRef } from '@backstage/plugin-catalog-react';

/** Where the entity's Backups or Restores tab lives (both frontend systems mount them there). */
export function useEntityTabLink(entity: Entity, tab: 'backups' | 'restores'): string {
  const entityRoute = useRouteRef(entityRouteRef);
  return `${entityRoute(entityRouteParams(entity))}/${tab}`;
}
