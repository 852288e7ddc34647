import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { ConfigReader } from '@backstage/config';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import express from 'express';
import Router from 'express-promise-router';
import net from 'node:net';
import request from 'supertest';
import { ferryConfigSchema } from '../config/FerryConfig';
import { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import { EntityAccess } from './EntityAccess';
import { planTarget, registerPlanRoute } from './planRoute';

// The route's error paths, with a real ClusterRegistry; the happy path runs against the sandbox
// in src/mapping/collectApplication.test.ts.

const ferryConfig = ferryConfigSchema.parse({
  targets: [
    { name: 'local', type: 'filesystem', path: '/tmp/a' },
    { name: 'nfs', type: 'filesystem', path: '/tmp/b' },
  ],
  defaultTarget: 'nfs',
  policies: [{ name: 'to-local', target: 'local' }, { name: 'default' }],
});

function entity(name: string, annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return port;
}

async function start(options: { result: AuthorizeResult.ALLOW | AuthorizeResult.DENY; clusters: ClusterRegistry; entities: Entity[] }) {
  const plugin = createBackendPlugin({
    pluginId: 'backup',
    register(env) {
      env.registerInit({
        deps: {
          httpAuth: coreServices.httpAuth,
          httpRouter: coreServices.httpRouter,
          permissions: coreServices.permissions,
          catalog: catalogServiceRef,
        },
        async init({ httpAuth, httpRouter, permissions, catalog }) {
          const router = Router();
          router.use(express.json());
          registerPlanRoute({
            router,
            httpAuth,
            entityAccess: new EntityAccess({ catalog, permissions }),
            clusters: options.clusters,
            ferryConfig,
          });
          httpRouter.use(router);
        },
      });
    },
  });
  const { server } = await startTestBackend({
    features: [
      plugin,
      catalogServiceMock.factory({ entities: options.entities }),
      mockServices.permissions.factory({ result: options.result }),
    ],
  });
  return server;
}

describe('GET /entities/:kind/:namespace/:name/plan', () => {
  let url: string;
  let clusters: ClusterRegistry;
  beforeAll(async () => {
    url = `https://127.0.0.1:${await closedPort()}`;
    clusters = ClusterRegistry.fromConfig(
      new ConfigReader({
        kubernetes: {
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: [
                { name: 'down', url, authProvider: 'serviceAccount', serviceAccountToken: 't' },
                { name: 'other', url, authProvider: 'anonymous' },
              ],
            },
          ],
        },
      }),
    );
  });
  const shop = entity('shop', { 'ferry.io/namespace': 'shop', 'ferry.io/cluster': 'down' });
  const unnamed = entity('unnamed', { 'ferry.io/namespace': 'shop' });

  it('answers 503 naming a cluster that is down', async () => {
    const server = await start({ result: AuthorizeResult.ALLOW, clusters, entities: [shop] });
    const response = await request(server).get('/api/backup/entities/component/default/shop/plan');
    expect(response.status).toBe(503);
    expect(response.body.error).toMatchObject({
      name: 'ServiceUnavailableError',
      message: `cluster down is unreachable at ${url}: ECONNREFUSED`,
    });
  });

  it('answers 400 when the entity must name one of several clusters', async () => {
    const server = await start({ result: AuthorizeResult.ALLOW, clusters, entities: [unnamed] });
    const response = await request(server).get('/api/backup/entities/component/default/unnamed/plan');
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe(
      'entity component:default/unnamed must name its cluster with annotation ferry.io/cluster: 2 clusters are configured (down, other)',
    );
  });

  it('answers 403 without the read permission, before looking at the entity', async () => {
    const server = await start({ result: AuthorizeResult.DENY, clusters, entities: [shop] });
    for (const name of ['shop', 'does-not-exist']) {
      const response = await request(server).get(`/api/backup/entities/component/default/${name}/plan`);
      expect(response.status).toBe(403);
      expect(response.body.error.name).toBe('NotAllowedError');
    }
  });

  it('answers 404 for an unknown entity', async () => {
    const server = await start({ result: AuthorizeResult.ALLOW, clusters, entities: [shop] });
    const response = await request(server).get('/api/backup/entities/component/default/nope/plan');
    expect(response.status).toBe(404);
    expect(response.body.error.message).toBe('no catalog entity component:default/nope');
  });
});

describe('planTarget', () => {
  it("takes the policy's target, else the default target, else the first", () => {
    expect(planTarget(ferryConfig, 'to-local')).toBe('local');
    expect(planTarget(ferryConfig, 'default')).toBe('nfs');
    expect(planTarget(ferryConfig)).toBe('nfs');
    expect(planTarget(ferryConfigSchema.parse({ targets: [{ name: 'x', type: 'filesystem', path: '/x' }] }))).toBe('x');
    expect(planTarget(ferryConfigSchema.parse({}))).toBeUndefined();
  });
});
