import { coreServices, createBackendPlugin, SchedulerService } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import type { JsonObject } from '@backstage/types';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, V1Pod, Watch } from '@kubernetes/client-node';
import type { BackupDetail, BackupSummary, HookResult } from '@ferry/plugin-backup-common';
import { installDemoApp, Sandbox } from '@ferry/sandbox';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { backupPlugin } from '../plugin';
import { execInPod } from '../pipeline/execInPod';
import { mergePatch } from '../pipeline/KubeClients';
import { createHookMarkers, HookMarkers } from './__testUtils__/hookMarkers';
import { demoEntity, e2eFerryConfig, sandboxClusterConfig, startE2eSandbox } from './__testUtils__/sandboxBackend';
import { shopPath, waitForOperation } from './__testUtils__/waitForOperation';

/*
 * Velero's backup hook annotations on the demo app's pod templates, run by Ferry from every
 * trigger (API, schedule, kubectl), in the real containers of a real node (PostgreSQL's and the
 * web server's). The hooks prove their order by what they write (`hookMarkers`): the pre-hook's
 * marker file must be in the backup's copy of the ext4 volume, the post-hook's must not, and the
 * live volume must hold both.
 */

jest.setTimeout(600_000);

const appId = 'component.default.shop';
const dbPods = ['demo-db-0', 'demo-db-1'];

let sandbox: Sandbox;
let repositoryDir: string;
let markers: HookMarkers;
let backend: Awaited<ReturnType<typeof startTestBackend>>;
let scheduler: SchedulerService | undefined;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

/** Hands the test the scheduler service the plugins get (the mock scheduler runs tasks on trigger). */
const schedulerProbe = createBackendPlugin({
  pluginId: 'hooks-schedule-probe',
  register(env) {
    env.registerInit({
      deps: { scheduler: coreServices.scheduler },
      async init(deps) {
        scheduler = deps.scheduler;
      },
    });
  },
});

const pre = (field: string) => `pre.hook.backup.velero.io/${field}`;
const post = (field: string) => `post.hook.backup.velero.io/${field}`;

/** The db pods' annotations as the StatefulSet template carries them. */
const dbAnnotations = () => ({
  // A JSON array, the container named, a Go duration; on-error left to its default (Fail).
  [pre('command')]: JSON.stringify(markers.preCommand),
  [pre('container')]: 'db',
  [pre('timeout')]: '20s',
  // A plain string is one executable (no shell splitting); container and timeout by default.
  [post('command')]: markers.postExecutable,
});
const webAnnotations = {
  [pre('command')]: '["/bin/sh", "-c", "echo web quiesced on $(cat /proc/sys/kernel/hostname)"]',
};
/** What the other application's hook would leave in its own container, had it been run. */
const otherAppMarker = '/tmp/other-app-hooked';

/** Whether the other application's pod holds the marker its hook writes. */
async function otherAppHooked(): Promise<boolean> {
  const [other] = await runningPods('app=other');
  const result = await execInPod({
    kubeConfig: sandbox.kubeConfig,
    namespace: 'demo',
    pod: other.metadata!.name!,
    container: 'main',
    command: ['/bin/sh', '-c', `[ -e ${otherAppMarker} ] && echo hooked || echo untouched`],
    timeoutMs: 20_000,
  });
  expect(result.exitCode).toBe(0);
  return result.stdout === 'hooked';
}

async function runningPods(selector: string): Promise<V1Pod[]> {
  const pods = await core.listNamespacedPod({ namespace: 'demo', labelSelector: selector });
  return pods.items.filter(p => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
}

/** Waits until exactly `count` pods of the selector run, all with the annotation. */
async function waitForAnnotatedPods(selector: string, count: number, key: string) {
  for (let i = 0; i < 240; i++) {
    const all = (await core.listNamespacedPod({ namespace: 'demo', labelSelector: selector })).items;
    const ready = await runningPods(selector);
    if (all.length === count && ready.length === count && ready.every(p => p.metadata?.annotations?.[key])) return;
    await new Promise(resolve => setTimeout(resolve, 500));
  }
  throw new Error(`pods ${selector} did not roll out with ${key}`);
}

/** Merge-patches a pod's annotations (null removes one): Velero reads pods, not templates. */
async function annotatePod(name: string, annotations: Record<string, string | null>) {
  await core.patchNamespacedPod({ name, namespace: 'demo', body: { metadata: { annotations } } }, mergePatch);
}

/** The pre-hook's marker is in the snapshot, the post-hook's is not; the live volume has both. */
async function expectOrderProven(pod: string, backupId: string, app = appId) {
  expect(await markers.stored({ app, pod, backupId, stage: 'pre' })).toBe(markers.mark('pre', pod));
  expect(await markers.stored({ app, pod, backupId, stage: 'post' })).toBe('');
  expect(await markers.live(pod, 'post')).toBe(markers.mark('post', pod));
}

async function backupThroughApi(): Promise<BackupDetail> {
  const created = await request(backend.server).post(`${shopPath}/backups`).send({});
  expect(created.status).toBe(201);
  return waitForOperation({ server: backend.server, kind: 'backups', id: created.body.id });
}

/** Records every VolumeSnapshot the API server announces in `demo` while it runs. */
async function watchSnapshots() {
  const seen: string[] = [];
  const controller = await new Watch(sandbox.kubeConfig).watch(
    '/apis/snapshot.storage.k8s.io/v1/namespaces/demo/volumesnapshots',
    {},
    (type: string, object: { metadata?: { name?: string } }) => {
      if (type === 'ADDED') seen.push(object.metadata?.name ?? '?');
    },
    () => undefined,
  );
  return { seen, stop: () => controller.abort() };
}

/** A web pod's name without its ReplicaSet hash and suffix (they change with every rollout). */
const workload = (pod: string | undefined) => (pod?.startsWith('demo-web-') ? 'demo-web' : pod);

const annotationHook = (pod: string, stage: 'pre' | 'post', container: string, extra: Partial<HookResult> = {}) =>
  expect.objectContaining({ source: 'annotation', stage, pod, container, ...extra });

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  // The chart as it comes (4 claims), but without its own hooks: this suite sets the annotations.
  await installDemoApp(sandbox, { set: { 'db.backupHooks': 'false' }, rawVolumes: false, rows: 0 });
  core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  apps = sandbox.kubeConfig.makeApiClient(AppsV1Api);
  custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
  repositoryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-hooks-repo-'));
  // The hook scripts go onto the db pods' data volumes, so the pods the rollout below makes have them.
  markers = await createHookMarkers({ sandbox, namespace: 'demo', pods: dbPods, repositoryDir });

  // The app's pod templates carry Velero's annotations; the pods they make get them.
  await apps.patchNamespacedStatefulSet(
    { name: 'demo-db', namespace: 'demo', body: { spec: { template: { metadata: { annotations: dbAnnotations() } } } } },
    mergePatch,
  );
  await apps.patchNamespacedDeployment(
    { name: 'demo-web', namespace: 'demo', body: { spec: { template: { metadata: { annotations: webAnnotations } } } } },
    mergePatch,
  );
  // Another application's pod in the same namespace (the demo web image, a real container),
  // annotated too: it must never be hooked.
  await core.createNamespacedPod({
    namespace: 'demo',
    body: {
      metadata: {
        name: 'other-app',
        labels: { app: 'other' },
        annotations: {
          [pre('command')]: JSON.stringify(['/bin/sh', '-c', `echo hooked > ${otherAppMarker}`]),
        },
      },
      spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: sandbox.images!.demo.web }] },
    },
  });
  await waitForAnnotatedPods('app.kubernetes.io/component=db', 2, pre('command'));
  await waitForAnnotatedPods('app.kubernetes.io/component=web', 1, pre('command'));
  await waitForAnnotatedPods('app=other', 1, pre('command'));

  backend = await startTestBackend({
    features: [
      backupPlugin,
      schedulerProbe,
      mockServices.scheduler.factory({ skipTaskRunOnStartup: true }),
      catalogServiceMock.factory({ entities: [demoEntity] }),
      mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
      mockServices.rootLogger.factory({ level: (process.env.FERRY_TEST_LOG as 'info' | undefined) ?? 'warn' }),
      mockServices.rootConfig.factory({
        data: {
          kubernetes: (await sandboxClusterConfig(sandbox)) as JsonObject,
          ferry: e2eFerryConfig(sandbox, repositoryDir, {
            policies: [{ name: 'hourly', schedule: '0 * * * *', filter: { 'spec.lifecycle': 'production' } }],
          }),
        },
      }),
    ],
  });
});

afterAll(async () => {
  await backend?.stop();
  await sandbox?.stop();
  if (repositoryDir) fs.rmSync(repositoryDir, { recursive: true, force: true });
});

describe("Velero's backup hook annotations on the demo app's pods", () => {
  it('a backup through the API runs the pre-hooks before the snapshot and the post-hooks after it', async () => {
    await markers.clear();
    const backup = await backupThroughApi();
    expect(backup.failures).toEqual([]);
    expect(backup.phase).toBe('Completed');
    const [web] = await runningPods('app.kubernetes.io/component=web');
    const webPod = web.metadata!.name!;
    // Annotation hooks run one pod after another, by name; the web Deployment has no post-hook.
    expect(backup.hooks).toEqual([
      annotationHook('demo-db-0', 'pre', 'db', {
        command: markers.preCommand,
        outcome: 'Succeeded',
        onError: 'Fail',
        exitCode: 0,
        stdout: 'pre marked demo-db-0',
        durationMs: expect.any(Number),
      }),
      annotationHook('demo-db-1', 'pre', 'db', { outcome: 'Succeeded', stdout: 'pre marked demo-db-1' }),
      // No container annotation: the pod's first container.
      annotationHook(webPod, 'pre', 'web', { outcome: 'Succeeded', stdout: `web quiesced on ${webPod}` }),
      annotationHook('demo-db-0', 'post', 'db', {
        command: [markers.postExecutable],
        outcome: 'Succeeded',
        exitCode: 0,
        stdout: 'post marked demo-db-0',
      }),
      annotationHook('demo-db-1', 'post', 'db', { outcome: 'Succeeded', stdout: 'post marked demo-db-1' }),
    ]);
    for (const pod of dbPods) await expectOrderProven(pod, backup.id);
  });

  it("never hooks another application's pod in the same namespace", async () => {
    expect(await otherAppHooked()).toBe(false);
    // Its hook would have run had it been chosen: exec into that pod works.
    const [other] = await runningPods('app=other');
    const result = await execInPod({
      kubeConfig: sandbox.kubeConfig,
      namespace: 'demo',
      pod: other.metadata!.name!,
      container: 'main',
      command: JSON.parse(other.metadata!.annotations![pre('command')]),
      timeoutMs: 20_000,
    });
    expect(result.exitCode).toBe(0);
    expect(await otherAppHooked()).toBe(true);
    await execInPod({ kubeConfig: sandbox.kubeConfig, namespace: 'demo', pod: other.metadata!.name!, container: 'main', command: ['/bin/busybox', 'rm', otherAppMarker], timeoutMs: 20_000 });
    expect(await otherAppHooked()).toBe(false);
  });

  it('fails the backup on a pre-hook failing with on-error Fail: no snapshot taken, the post-hooks still run', async () => {
    await annotatePod('demo-db-0', { [pre('command')]: '["/bin/sh", "-c", "echo cannot freeze >&2; exit 3"]' });
    await markers.clear();
    const snapshots = await watchSnapshots();
    let backup: BackupDetail;
    try {
      backup = await backupThroughApi();
    } finally {
      snapshots.stop();
    }
    expect(backup.phase).toBe('Failed');
    expect(backup.message).toBe(
      'a pre-hook failed, no snapshot was taken: exit code 3: cannot freeze (pod demo-db-0, container db)',
    );
    expect(snapshots.seen).toEqual([]);
    expect(backup.timeline.map(t => t.step)).not.toContain('Snapshots');
    expect(backup.volumes.map(v => v.phase)).toEqual(['Pending', 'Pending', 'Pending', 'Pending']);
    expect(fs.existsSync(path.join(repositoryDir, 'apps', appId, 'backups', backup.id, 'manifest.json'))).toBe(false);
    expect(backup.failures).toEqual([
      { kind: 'Hook', name: 'demo-db-0/db: /bin/sh -c echo cannot freeze >&2; exit 3', reason: 'exit code 3: cannot freeze' },
    ]);
    const pres = backup.hooks.filter(h => h.stage === 'pre');
    expect(pres.map(h => [h.pod, h.outcome])).toEqual([
      ['demo-db-0', 'Failed'],
      ['demo-db-1', 'Skipped'],
      [expect.stringMatching(/^demo-web-/), 'Skipped'],
    ]);
    expect(pres[0]).toMatchObject({ exitCode: 3, stderr: 'cannot freeze', onError: 'Fail' });
    expect(backup.hooks.filter(h => h.stage === 'post')).toEqual([
      annotationHook('demo-db-0', 'post', 'db', { outcome: 'Succeeded' }),
      annotationHook('demo-db-1', 'post', 'db', { outcome: 'Succeeded' }),
    ]);
    // The post-hooks really ran (the pre-hook of demo-db-1 did not).
    for (const pod of dbPods) {
      expect(await markers.live(pod, 'post')).toBe(markers.mark('post', pod));
      expect(await markers.live(pod, 'pre')).toBe('');
    }
  });

  it('completes the backup after a pre-hook failing with on-error Continue, recording the failure', async () => {
    await annotatePod('demo-db-0', { [pre('on-error')]: 'Continue' });
    await markers.clear();
    const backup = await backupThroughApi();
    expect(backup.phase).toBe('Completed');
    expect(backup.failures).toEqual([]);
    expect(backup.volumes.map(v => v.phase)).toEqual(['Completed', 'Completed', 'Completed', 'Completed']);
    expect(backup.hooks.filter(h => h.stage === 'pre').map(h => [h.pod, h.outcome, h.onError])).toEqual([
      ['demo-db-0', 'Failed', 'Continue'],
      ['demo-db-1', 'Succeeded', 'Fail'],
      [expect.stringMatching(/^demo-web-/), 'Succeeded', 'Fail'],
    ]);
    expect(backup.hooks[0]).toMatchObject({ exitCode: 3, message: 'exit code 3: cannot freeze', stderr: 'cannot freeze' });
    await expectOrderProven('demo-db-1', backup.id);
  });

  it('fails the backup on an invalid annotation, naming the pod and the annotation', async () => {
    await annotatePod('demo-db-0', {
      [pre('command')]: dbAnnotations()[pre('command')],
      [pre('on-error')]: null,
      [pre('timeout')]: 'soon',
    });
    const backup = await backupThroughApi();
    expect(backup.phase).toBe('Failed');
    expect(backup.message).toMatch(
      /^a pre-hook failed, no snapshot was taken: annotation pre.hook.backup.velero.io\/timeout of pod demo-db-0: 'soon' is not a duration/,
    );
    expect(backup.hooks[0]).toMatchObject({ pod: 'demo-db-0', outcome: 'Failed' });
    expect(backup.hooks[0]).not.toHaveProperty('exitCode');
    expect(backup.hooks.filter(h => h.stage === 'post').map(h => h.outcome)).toEqual(['Succeeded', 'Succeeded']);
    await annotatePod('demo-db-0', { [pre('timeout')]: dbAnnotations()[pre('timeout')] });
  });

  it("a Backup applied with kubectl runs the pods' annotation hooks and adds its spec.hooks", async () => {
    await markers.clear();
    await custom.createNamespacedCustomObject({
      group: 'ferry.io',
      version: 'v1alpha1',
      plural: 'backups',
      namespace: 'demo',
      body: {
        apiVersion: 'ferry.io/v1alpha1',
        kind: 'Backup',
        metadata: { name: 'hooks-by-hand', namespace: 'demo' },
        spec: {
          application: { helmReleases: ['demo'] },
          target: 'local',
          hooks: {
            pre: [{ podSelector: 'app.kubernetes.io/component=web', command: ['/bin/sh', '-c', 'echo from spec'] }],
          },
        },
      },
    });
    let status: { phase?: string; backupId?: string; hooks?: HookResult[] } = {};
    for (let i = 0; i < 600 && !['Completed', 'PartiallyFailed', 'Failed'].includes(status.phase ?? ''); i++) {
      await new Promise(resolve => setTimeout(resolve, 500));
      const resource = (await custom.getNamespacedCustomObject({
        group: 'ferry.io',
        version: 'v1alpha1',
        plural: 'backups',
        namespace: 'demo',
        name: 'hooks-by-hand',
      })) as { status?: typeof status };
      status = resource.status ?? {};
    }
    expect(status.phase).toBe('Completed');
    // Pre: the pods' annotations, then the spec's; post: the spec's (none), then the annotations.
    expect(status.hooks!.map(h => [h.stage, h.source, workload(h.pod), h.outcome])).toEqual([
      ['pre', 'annotation', 'demo-db-0', 'Succeeded'],
      ['pre', 'annotation', 'demo-db-1', 'Succeeded'],
      ['pre', 'annotation', 'demo-web', 'Succeeded'],
      ['pre', 'spec', 'demo-web', 'Succeeded'],
      ['post', 'annotation', 'demo-db-0', 'Succeeded'],
      ['post', 'annotation', 'demo-db-1', 'Succeeded'],
    ]);
    expect(status.hooks![3]).toMatchObject({ command: ['/bin/sh', '-c', 'echo from spec'], stdout: 'from spec', container: 'web' });
    // A Backup without an entity annotation is stored under `<cluster>.<namespace>`.
    for (const pod of dbPods) await expectOrderProven(pod, status.backupId!, 'sandbox.demo');
  });

  it('a scheduled backup runs them too', async () => {
    await markers.clear();
    // The mock scheduler runs the task to its end: the backup it started has ended.
    await scheduler!.triggerTask('ferry-policy-hourly');
    const list = await request(backend.server).get(`${shopPath}/backups`);
    const scheduled = (list.body.items as BackupSummary[]).filter(b => b.trigger.type === 'schedule');
    expect(scheduled).toHaveLength(1);
    const detail = await waitForOperation({ server: backend.server, kind: 'backups', id: scheduled[0].id });
    expect(detail.phase).toBe('Completed');
    expect(detail.hooks.map((h: HookResult) => [h.stage, workload(h.pod), h.outcome])).toEqual([
      ['pre', 'demo-db-0', 'Succeeded'],
      ['pre', 'demo-db-1', 'Succeeded'],
      ['pre', 'demo-web', 'Succeeded'],
      ['post', 'demo-db-0', 'Succeeded'],
      ['post', 'demo-db-1', 'Succeeded'],
    ]);
    for (const pod of dbPods) await expectOrderProven(pod, detail.id);
    expect(await otherAppHooked()).toBe(false);
  });
});
