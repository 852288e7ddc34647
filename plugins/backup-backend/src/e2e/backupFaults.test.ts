import { mockCredentials } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { installDemoApp, Sandbox } from '@ferry/sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitForOperation } from './__testUtils__/waitForOperation';
import request from 'supertest';
import { demoEntity, startE2eSandbox, startFerryBackend } from './__testUtils__/sandboxBackend';

jest.setTimeout(600_000);

type Backend = Awaited<ReturnType<typeof startFerryBackend>>;

const entity = (name: string, annotations: Record<string, string>): Entity => ({
  ...demoEntity,
  metadata: { name, namespace: 'default', annotations },
});
const sabotaged = entity('shop-copy', demoEntity.metadata.annotations!);
const bare = entity('bare', {});
const offline = entity('offline', { 'ferry.io/namespace': 'demo', 'ferry.io/cluster': 'down' });
const entities = [demoEntity, sabotaged, bare, offline];
const downCluster = { name: 'down', url: 'https://127.0.0.1:9', authProvider: 'serviceAccount', authMetadata: { serviceAccountToken: 'x' }, skipTLSVerify: true };

let sandbox: Sandbox;
let repositoryDir: string;
const backends: Backend[] = [];

const waitForBackup = (server: Backend['server'], entityName: string, id: string) =>
  waitForOperation({
    server,
    kind: 'backups',
    id,
    entityPath: `/api/backup/entities/component/default/${entityName}`,
    tolerateMissing: true,
  });

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  // The chart as it comes (no raw test claims: 4 claims, PostgreSQL's), no rows needed.
  await installDemoApp(sandbox, { rawVolumes: false, rows: 0 });
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-faults-repo-'));
  // Two replicas of the backend against one cluster and one target.
  for (let i = 0; i < 2; i++) {
    backends.push(
      await startFerryBackend({ sandbox, repositoryDir, entities, extraClusters: [downCluster] }),
    );
  }
});

afterAll(async () => {
  for (const backend of backends) await backend.stop();
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('backup faults on the sandbox', () => {
  it('runs each backup exactly once with two backend replicas', async () => {
    const created = [];
    for (const backend of [backends[0], backends[1], backends[0]]) {
      const response = await request(backend.server)
        .post('/api/backup/entities/component/default/shop/backups')
        .send({ type: 'full' });
      expect(response.status).toBe(201);
      created.push(response.body.id as string);
    }
    for (const id of created) {
      // Either replica answers for any backup: both index what they watch.
      for (const backend of backends) {
        const backup = await waitForBackup(backend.server, 'shop', id);
        expect(backup.phase).toBe('Completed');
        expect(backup.timeline.filter((t: { step: string }) => t.step === 'Start')).toHaveLength(1);
      }
    }
    const committed = await fs.readdir(path.join(repositoryDir, 'apps', 'component.default.shop', 'backups'));
    expect(committed.sort()).toEqual([...created].sort());
  });

  it('reports PartiallyFailed naming the volume whose datamover Job failed', async () => {
    // A file where the volume's folder must go: that volume's datamover cannot write its image.
    const volumes = path.join(repositoryDir, 'apps', 'component.default.shop-copy', 'volumes');
    await fs.mkdir(volumes, { recursive: true });
    await fs.writeFile(path.join(volumes, 'wal-demo-db-1'), 'not a folder');
    const response = await request(backends[1].server)
      .post('/api/backup/entities/component/default/shop-copy/backups')
      .send({});
    expect(response.status).toBe(201);
    const backup = await waitForBackup(backends[1].server, 'shop-copy', response.body.id);
    expect(backup.phase).toBe('PartiallyFailed');
    expect(backup.failures).toEqual([
      { kind: 'Volume', name: 'wal-demo-db-1', reason: expect.stringMatching(/volumes\/wal-demo-db-1/) },
    ]);
    const states = Object.fromEntries(backup.volumes.map((v: { pvc: string; phase: string }) => [v.pvc, v.phase]));
    expect(states).toEqual({
      'data-demo-db-0': 'Completed',
      'data-demo-db-1': 'Completed',
      'wal-demo-db-0': 'Completed',
      'wal-demo-db-1': 'Failed',
    });
  });

  it('answers unknown entities, entities without annotations and a cluster that is down clearly', async () => {
    const { server } = backends[0];
    const unknown = await request(server).post('/api/backup/entities/component/default/nope/backups').send({});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('no catalog entity component:default/nope');
    const unannotated = await request(server).post('/api/backup/entities/component/default/bare/backups').send({});
    expect(unannotated.status).toBe(400);
    expect(unannotated.body.error.message).toMatch(/does not say what to back up/);
    const down = await request(server).post('/api/backup/entities/component/default/offline/backups').send({});
    expect(down.status).toBe(503);
    expect(down.body.error.message).toMatch(/cluster down is unreachable at https:\/\/127\.0\.0\.1:9/);
    const badBody = await request(server)
      .post('/api/backup/entities/component/default/shop/backups')
      .send({ type: 'differential' });
    expect(badBody.status).toBe(400);
    expect(badBody.body.error.message).toMatch(/^invalid request body: type:/);
  });

  it('refuses every route to a user who does not own the entity, and serves the owner', async () => {
    const owner = 'user:default/ann';
    const backend = await startFerryBackend({
      sandbox,
      repositoryDir,
      entities,
      permissions: {
        authorize: async (requests, options) =>
          requests.map(() => ({
            result:
              (options.credentials.principal as { userEntityRef?: string }).userEntityRef === owner
                ? AuthorizeResult.ALLOW
                : AuthorizeResult.DENY,
          })),
        authorizeConditional: async requests => requests.map(() => ({ result: AuthorizeResult.DENY })),
      },
    });
    backends.push(backend);
    const base = '/api/backup/entities/component/default/shop';
    const { body: list } = await request(backends[0].server).get(`${base}/backups`);
    const id = list.items[0].id;
    const stranger = mockCredentials.user.header('user:default/mallory');
    const routes: Array<[string, string]> = [
      ['get', `${base}/backups`],
      ['get', `${base}/restores`],
      ['get', `${base}/plan`],
      ['post', `${base}/backups`],
      ['get', `${base}/backups/${id}`],
      ['get', `${base}/backups/${id}/events`],
      ['delete', `${base}/backups/${id}`],
    ];
    for (const [method, url] of routes) {
      const response = await (request(backend.server) as any)[method](url).set('Authorization', stranger).send();
      expect({ url, method, status: response.status }).toEqual({ url, method, status: 403 });
      expect(response.body.error.name).toBe('NotAllowedError');
    }
    const asOwner = mockCredentials.user.header(owner);
    expect((await request(backend.server).get(`${base}/backups`).set('Authorization', asOwner)).status).toBe(200);
    expect((await request(backend.server).get(`${base}/plan`).set('Authorization', asOwner)).status).toBe(200);
    expect((await request(backend.server).get(`${base}/backups/${id}`).set('Authorization', asOwner)).status).toBe(200);
  });

  it('leaves no Backup unfinished', async () => {
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    const backups = (await custom.listNamespacedCustomObject({
      group: 'ferry.io',
      version: 'v1alpha1',
      plural: 'backups',
      namespace: 'demo',
    })) as { items: Array<{ status?: { phase?: string } }> };
    expect(backups.items.map(b => b.status?.phase).sort()).toEqual([
      'Completed',
      'Completed',
      'Completed',
      'PartiallyFailed',
    ]);
  });
});
