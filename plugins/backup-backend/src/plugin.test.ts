import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import request from 'supertest';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { backupPlugin } from './plugin';

const repositoryDir = fs.mkdtempSync(join(os.tmpdir(), 'ferry-plugin-test-'));
afterAll(() => fs.rmSync(repositoryDir, { recursive: true, force: true }));

const annotated = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'shop',
    namespace: 'default',
    annotations: { 'ferry.io/helm-release': 'shop' },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
};
const bare = {
  ...annotated,
  metadata: { name: 'bare', namespace: 'default' },
};

async function start(result: AuthorizeResult.ALLOW | AuthorizeResult.DENY, clusters: string[] = []) {
  const { server } = await startTestBackend({
    features: [
      backupPlugin,
      catalogServiceMock.factory({ entities: [annotated, bare] }),
      mockServices.permissions.factory({ result }),
      mockServices.rootConfig.factory({
        data: {
          kubernetes: {
            clusterLocatorMethods: [
              {
                type: 'config',
                // Closed ports: the controllers cannot start, the names are still served.
                clusters: clusters.map(name => ({
                  name,
                  url: 'https://127.0.0.1:1',
                  authProvider: 'serviceAccount',
                  authMetadata: { serviceAccountToken: 'token' },
                  skipTLSVerify: true,
                })),
              },
            ],
          },
          ferry: { targets: [{ name: 'local', type: 'filesystem', path: repositoryDir }] },
        },
      }),
    ],
  });
  return server;
}

describe('backup backend plugin', () => {
  it('answers health without credentials', async () => {
    const server = await start(AuthorizeResult.ALLOW);
    const response = await request(server).get('/api/backup/health');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('lists the configured clusters a restore may name', async () => {
    const server = await start(AuthorizeResult.ALLOW, ['prod', 'recovery']);
    const response = await request(server).get('/api/backup/clusters');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [{ name: 'prod' }, { name: 'recovery' }] });
  });

  it('lists no backups yet for an annotated entity', async () => {
    const server = await start(AuthorizeResult.ALLOW);
    const response = await request(server).get(
      '/api/backup/entities/component/default/shop/backups',
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      entityRef: 'component:default/shop',
      items: [],
      totalCount: 0,
    });
  });

  it('lists no restores yet either', async () => {
    const server = await start(AuthorizeResult.ALLOW);
    const response = await request(server).get(
      '/api/backup/entities/component/default/shop/restores',
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      entityRef: 'component:default/shop',
      items: [],
      totalCount: 0,
    });
  });

  it('reports an entity without backups as unprotected', async () => {
    const server = await start(AuthorizeResult.ALLOW);
    const response = await request(server).get('/api/backup/entities/component/default/shop/status');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      entityRef: 'component:default/shop',
      protection: 'unprotected',
      reason: 'no backup yet',
    });
  });

  it('serves the platform page to administrators only', async () => {
    const allowed = await request(await start(AuthorizeResult.ALLOW)).get('/api/backup/platform');
    expect(allowed.status).toBe(200);
    expect(allowed.body.targets).toEqual([
      { name: 'local', type: 'filesystem', healthy: true, usedBytes: 0 },
    ]);
    expect(allowed.body.coverage).toEqual([
      { entityRef: 'component:default/shop', title: 'shop', protection: 'unprotected' },
    ]);
    expect(allowed.body.storedBytesOverTime).toEqual([]);
    const denied = await request(await start(AuthorizeResult.DENY)).get('/api/backup/platform');
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/backup\.admin\.read/);
  });

  it('refuses with 403 when the permission is denied, even for unknown entities', async () => {
    const server = await start(AuthorizeResult.DENY);
    for (const path of ['shop/backups', 'shop/restores', 'does-not-exist/backups']) {
      const response = await request(server).get(
        `/api/backup/entities/component/default/${path}`,
      );
      expect(response.status).toBe(403);
      expect(response.body.error.name).toBe('NotAllowedError');
    }
  });

  it('answers 404 for an unknown entity and 400 for one without annotations', async () => {
    const server = await start(AuthorizeResult.ALLOW);
    const missing = await request(server).get(
      '/api/backup/entities/component/default/nope/backups',
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('no catalog entity component:default/nope');
    const unannotated = await request(server).get(
      '/api/backup/entities/component/default/bare/backups',
    );
    expect(unannotated.status).toBe(400);
    expect(unannotated.body.error.message).toMatch(/does not say what to back up.*ferry\.io\/helm-release/);
  });

  it('names the bad query parameter', async () => {
    const server = await start(AuthorizeResult.ALLOW);
    const response = await request(server).get(
      '/api/backup/entities/component/default/shop/backups?limit=0',
    );
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/^invalid query: limit:/);
  });
});
