import {
  coreServices,
  createBackendPlugin,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import type { JsonObject } from '@backstage/types';
import type { BackupSummary } from '@ferry/plugin-backup-common';
import { createTarget, Repository, verifyRepository } from '@ferry/repository';
import { DemoApp, installDemoApp, Sandbox } from '@ferry/sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitForOperation } from './__testUtils__/waitForOperation';
import request from 'supertest';
import { backupPlugin } from '../plugin';
import {
  captureDemoState,
  changeDemoData,
  demoClaims,
  DemoState,
  expectDemoState,
  expectRealContainers,
  readClaim,
} from './__testUtils__/demoState';
import { hydratedBytes } from './__testUtils__/qemuChain';
import { demoEntity, e2eFerryConfig, sandboxClusterConfig, startE2eSandbox } from './__testUtils__/sandboxBackend';

jest.setTimeout(600_000);

const entityPath = '/api/backup/entities/component/default/shop';
const appId = 'component.default.shop';

/** The demo app again, but not production: the policy's filter leaves it out. */
const experimental: Entity = {
  ...demoEntity,
  metadata: { ...demoEntity.metadata, name: 'shop-lab' },
  spec: { ...demoEntity.spec, lifecycle: 'experimental' },
};

let sandbox: Sandbox;
let demo: DemoApp;
let repositoryDir: string;
let claims: string[];
let backend: Awaited<ReturnType<typeof startTestBackend>>;
let scheduler: SchedulerService | undefined;

/** Hands the test the scheduler service the plugins get (the mock scheduler runs tasks on trigger). */
const schedulerProbe = createBackendPlugin({
  pluginId: 'schedule-probe',
  register(env) {
    env.registerInit({
      deps: { scheduler: coreServices.scheduler },
      async init(deps) {
        scheduler = deps.scheduler;
      },
    });
  },
});

async function listBackups(entity = 'shop'): Promise<BackupSummary[]> {
  const response = await request(backend.server).get(`/api/backup/entities/component/default/${entity}/backups`);
  expect(response.status).toBe(200);
  return response.body.items;
}

const waitFor = (kind: 'backups' | 'restores', id: string) =>
  waitForOperation({ server: backend.server, kind, id });

/** A restore through the API, waited for: it must complete without failures. */
async function restore(body: object) {
  const created = await request(backend.server).post(`${entityPath}/restores`).send(body);
  expect(created.status).toBe(201);
  const restored = await waitFor('restores', created.body.id);
  expect(restored.failures).toEqual([]);
  expect(restored.phase).toBe('Completed');
  return restored;
}

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  demo = await installDemoApp(sandbox);
  claims = await demoClaims(sandbox);
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-schedules-repo-'));
  backend = await startTestBackend({
    features: [
      backupPlugin,
      schedulerProbe,
      // Tasks run only when the test triggers them, through the scheduler service.
      mockServices.scheduler.factory({ skipTaskRunOnStartup: true }),
      catalogServiceMock.factory({ entities: [demoEntity, experimental] }),
      mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
      mockServices.rootLogger.factory({
        level: (process.env.FERRY_TEST_LOG as 'info' | undefined) ?? 'warn',
      }),
      mockServices.rootConfig.factory({
        data: {
          kubernetes: (await sandboxClusterConfig(sandbox)) as JsonObject,
          ferry: e2eFerryConfig(sandbox, repositoryDir, {
            policies: [
              { name: 'nightly', schedule: '0 2 * * *', keepLast: 2, filter: { 'spec.lifecycle': 'production' } },
            ],
          }),
        },
      }),
    ],
  });
});

afterAll(async () => {
  await backend?.stop();
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('schedules and retention on the sandbox', () => {
  let manualId: string;
  const scheduled: string[] = [];
  /** The rows and raw bytes the newest scheduled backup must hold. */
  let newestState: DemoState;

  it('registers a global task per scheduled policy and shows the next run', async () => {
    const tasks = await scheduler!.getScheduledTasks();
    expect(tasks.map(t => [t.id, t.scope]).sort()).toEqual([
      ['ferry-policy-nightly', 'global'],
      ['ferry-retention', 'global'],
    ]);
    const status = await request(backend.server).get(`${entityPath}/status`);
    expect(status.status).toBe(200);
    expect(status.body.policy).toBe('nightly');
    const next = Date.parse(status.body.nextScheduledRun);
    expect(next).toBeGreaterThan(Date.now());
    expect(next - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    const platform = await request(backend.server).get('/api/backup/platform');
    expect(platform.status).toBe(200);
    expect(platform.body.policies).toEqual([
      expect.objectContaining({ name: 'nightly', schedule: '0 2 * * *', keepLast: 2, nextRun: status.body.nextScheduledRun }),
    ]);
  });

  it('skips an entity whose backup is still running', async () => {
    const manual = await request(backend.server).post(`${entityPath}/backups`).send({ type: 'full' });
    expect(manual.status).toBe(201);
    manualId = manual.body.id;
    await scheduler!.triggerTask('ferry-policy-nightly');
    expect((await listBackups()).map(b => b.id)).toEqual([manualId]);
    expect((await waitFor('backups', manualId)).phase).toBe('Completed');
  });

  it('backs up the policy’s entities on each run, then keeps the newest 2 scheduled backups', async () => {
    for (let run = 0; run < 3; run++) {
      if (run === 2) {
        // The newest backup must hold data the deleted one's layer does not.
        await changeDemoData(sandbox, demo, { rows: 120, rawBytes: 200 * 1024 });
        newestState = await captureDemoState(sandbox, demo);
      }
      const started = Date.now();
      // The mock scheduler runs the task to its end: the backup has ended and retention ran.
      await scheduler!.triggerTask('ferry-policy-nightly');
      const [newest] = await listBackups();
      expect(newest.id).not.toBe(manualId);
      expect(newest).toMatchObject({
        phase: 'Completed',
        policy: 'nightly',
        trigger: { type: 'schedule', policy: 'nightly' },
        // Auto: incremental on the manual full backup (fullEvery 10).
        kind: 'incremental',
      });
      scheduled.push(newest.id);
      // eslint-disable-next-line no-console
      console.log(`Scheduled run ${run + 1} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    expect(new Set(scheduled).size).toBe(3);
    // Manual backups are neither counted nor deleted; the oldest scheduled one is gone.
    expect((await listBackups()).map(b => b.id)).toEqual([scheduled[2], scheduled[1], manualId]);
    // Entities the policy does not apply to were not backed up.
    expect(await listBackups('shop-lab')).toEqual([]);
    const repository = await Repository.open(createTarget({ type: 'filesystem', path: repositoryDir }));
    expect(await repository.listBackups(appId)).toEqual([manualId, scheduled[1], scheduled[2]]);
    // The periodic pass agrees: nothing more to delete.
    await scheduler!.triggerTask('ferry-retention');
    expect(await repository.listBackups(appId)).toEqual([manualId, scheduled[1], scheduled[2]]);
  });

  it('keeps the deleted backup’s images that the newest chain needs: it verifies and restores', async () => {
    const repository = await Repository.open(createTarget({ type: 'filesystem', path: repositoryDir }));
    for (const claim of claims) {
      const chain = await repository.resolveChain({ app: appId, pvc: claim, backupId: scheduled[2] });
      expect(chain.map(layer => layer.backupId)).toEqual([scheduled[2], scheduled[1], scheduled[0], manualId]);
    }
    const report = await verifyRepository(repository, { app: appId });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.backups.map(b => b.backupId).sort()).toEqual([manualId, scheduled[1], scheduled[2]].sort());

    // The volumes first, alone (nothing mounts them): bytes restored equal the newest chain as
    // qemu-img hydrates it, through the deleted backup's kept images.
    const volumes = await restore({ backupId: scheduled[2], namespace: 'demo-scheduled', scope: 'data-only' });
    expect(volumes.volumes.map((v: { pvc: string; phase: string }) => `${v.pvc}:${v.phase}`)).toEqual(claims.map(c => `${c}:Completed`));
    for (const claim of claims) {
      const restored = await readClaim(sandbox, 'demo-scheduled', claim);
      const stored = await hydratedBytes({ repositoryDir, app: appId, pvc: claim, backupId: scheduled[2] });
      expect({ claim, equal: restored.equals(stored) }).toEqual({ claim, equal: true });
    }
    // Then the application onto them: PostgreSQL starts from the restored volumes and returns the
    // rows of the newest backup; the raw claims hold the bytes written before it.
    const app = await restore({ backupId: scheduled[2], namespace: 'demo-scheduled', scope: 'metadata-only', readyTimeoutSeconds: 180 });
    expect(app.objects.filter((o: { kind: string }) => o.kind === 'PersistentVolumeClaim').map((o: { outcome: string }) => o.outcome)).toEqual(
      claims.map(() => 'Skipped'),
    );
    await expectDemoState(sandbox, demo, 'demo-scheduled', newestState);
    await expectRealContainers(sandbox, demo, 'demo-scheduled');
  });
});
