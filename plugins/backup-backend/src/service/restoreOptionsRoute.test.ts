import {
  BackstageCredentials,
  coreServices,
  createBackendPlugin,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import type { RestoreOptions } from '@ferry/plugin-backup-common';
import express from 'express';
import Router from 'express-promise-router';
import request from 'supertest';
import { ferryConfigSchema } from '../config/FerryConfig';
import { EntityAccess } from './EntityAccess';
import { registerRestoreOptionsRoute } from './restoreOptionsRoute';

const ferryConfig = ferryConfigSchema.parse({ targets: [{ name: 'local', type: 'filesystem', path: '/tmp/a' }] });
const clusters = ['sandbox', 'recovery'];

const shop: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'shop',
    namespace: 'default',
    annotations: { 'ferry.io/helm-release': 'demo', 'ferry.io/namespace': 'demo', 'ferry.io/cluster': 'sandbox' },
  },
  spec: { type: 'service', owner: 'group:default/team-shop', lifecycle: 'production' },
};

/**
 * The demo policy in small: the owner may restore Shop and nothing more, the administrator
 * everything, anyone else nothing. Every question asked is recorded.
 */
const asked: Array<{ user: string; permission: string; resourceRef?: string }> = [];
const permissions: Pick<PermissionsService, 'authorize'> = {
  authorize: async (requests, options) => {
    const user = (options.credentials as BackstageCredentials<{ type: 'user'; userEntityRef: string }>)
      .principal.userEntityRef;
    return requests.map(r => {
      const resourceRef = 'resourceRef' in r ? (r.resourceRef as string | undefined) : undefined;
      asked.push({ user, permission: r.permission.name, resourceRef });
      const allowed =
        user === 'user:default/platform-admin' ||
        (user === 'user:default/shop-owner' && r.permission.name === 'backup.restore' && resourceRef === 'component:default/shop');
      return { result: allowed ? AuthorizeResult.ALLOW : AuthorizeResult.DENY };
    });
  },
};

async function start() {
  const plugin = createBackendPlugin({
    pluginId: 'backup',
    register(env) {
      env.registerInit({
        deps: { httpAuth: coreServices.httpAuth, httpRouter: coreServices.httpRouter, catalog: catalogServiceRef },
        async init({ httpAuth, httpRouter, catalog }) {
          const router = Router();
          router.use(express.json());
          registerRestoreOptionsRoute({
            router,
            httpAuth,
            permissions: permissions as PermissionsService,
            entityAccess: new EntityAccess({ catalog, permissions: permissions as PermissionsService }),
            clusterNames: () => clusters,
            ferryConfig,
          });
          httpRouter.use(router);
        },
      });
    },
  });
  const { server } = await startTestBackend({
    features: [plugin, catalogServiceMock.factory({ entities: [shop] }), mockServices.permissions.factory()],
  });
  return server;
}

const get = (server: Awaited<ReturnType<typeof start>>, user: string, name = 'shop') =>
  request(server)
    .get(`/api/backup/entities/component/default/${name}/restore-options`)
    .set('Authorization', mockCredentials.user.header(user));

describe('GET /entities/:kind/:namespace/:name/restore-options', () => {
  beforeEach(() => {
    asked.length = 0;
  });

  it("answers a service owner: the entity's own namespace and cluster only", async () => {
    const response = await get(await start(), 'user:default/shop-owner');
    expect(response.status).toBe(200);
    const expected: RestoreOptions = {
      cluster: 'sandbox',
      namespace: 'demo',
      clusters: ['sandbox'],
      anywhere: false,
      privileged: false,
    };
    expect(response.body).toEqual(expected);
  });

  it('answers an administrator: any namespace, every configured cluster, privileged changes', async () => {
    const response = await get(await start(), 'user:default/platform-admin');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      cluster: 'sandbox',
      namespace: 'demo',
      clusters: ['sandbox', 'recovery'],
      anywhere: true,
      privileged: true,
    });
  });

  it('answers 403 to a stranger whether the entity exists or not, before looking it up', async () => {
    const server = await start();
    for (const name of ['shop', 'does-not-exist']) {
      const response = await get(server, 'user:default/stranger', name);
      expect(response.status).toBe(403);
      expect(response.body.error).toMatchObject({
        name: 'NotAllowedError',
        message: `not allowed to backup.restore on component:default/${name}`,
      });
    }
    // Only the entity permission was asked: nothing about where to restore.
    expect(asked).toEqual([
      { user: 'user:default/stranger', permission: 'backup.restore', resourceRef: 'component:default/shop' },
      { user: 'user:default/stranger', permission: 'backup.restore', resourceRef: 'component:default/does-not-exist' },
    ]);
  });

  it('answers 404 for an unknown entity to someone allowed', async () => {
    const response = await get(await start(), 'user:default/platform-admin', 'nope');
    expect(response.status).toBe(404);
    expect(response.body.error.message).toBe('no catalog entity component:default/nope');
  });
});
