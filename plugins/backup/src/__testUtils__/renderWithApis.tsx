import type { Entity } from '@backstage/catalog-model';
import { EntityProvider, entityRouteRef } from '@backstage/plugin-catalog-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import type { ReactElement } from 'react';
import { SWRConfig } from 'swr';
import { BackupApi, backupApiRef } from '../api/BackupApi';
import { shop } from './fixtures';

/** Permission names to deny; everything else is allowed. */
export function fakePermissionApi(deny: string[] = []) {
  return {
    authorize: jest.fn(async (request: { permission: { name: string }; resourceRef?: string }) => ({
      result: deny.includes(request.permission.name) ? AuthorizeResult.DENY : AuthorizeResult.ALLOW,
    })),
  };
}

/**
 * Renders a view of the plugin in a test app, with a fake BackupApi, a permission API answering
 * ALLOW except for `deny`, the entity, and a fresh permission cache (usePermission uses SWR).
 */
export async function renderWithApis(
  ui: ReactElement,
  options: {
    api: Partial<BackupApi>;
    deny?: string[];
    entity?: Entity | null;
    routeEntries?: string[];
  },
) {
  const permissionApi = fakePermissionApi(options.deny);
  const entity = options.entity === undefined ? shop : options.entity;
  const rendered = await renderInTestApp(
    <SWRConfig value={{ provider: () => new Map(), dedupingInterval: 0 }}>
      <TestApiProvider
        apis={[
          [backupApiRef, options.api],
          [permissionApiRef, permissionApi],
        ]}
      >
        {entity ? <EntityProvider entity={entity}>{ui}</EntityProvider> : ui}
      </TestApiProvider>
    </SWRConfig>,
    {
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      routeEntries: options.routeEntries,
    },
  );
  return { rendered, permissionApi };
}
