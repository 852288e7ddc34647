import { createBackendPlugin, coreServices } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { ConfigReader, JsonObject } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import type { BackupPlan } from '@ferry/plugin-backup-common';
import { installDemoApp, Sandbox } from '@ferry/sandbox';
import { CoreV1Api, KubernetesObject, V1Secret } from '@kubernetes/client-node';
import express from 'express';
import Router from 'express-promise-router';
import fs from 'node:fs';
import net from 'node:net';
import request from 'supertest';
import { ferryConfigSchema } from '../config/FerryConfig';
import { backendToken } from '../e2e/__testUtils__/ferryChart';
import { startE2eSandbox } from '../e2e/__testUtils__/sandboxBackend';
import { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import { KubernetesJsonClient } from '../kubernetes/KubernetesJsonClient';
import { EntityAccess } from '../service/EntityAccess';
import { registerPlanRoute } from '../service/planRoute';
import { collectApplication } from './collectApplication';
import { groupOf } from './excludedObjects';
import { decodeHelmReleaseSecret } from './helmRelease';
import { resolveApplication } from './resolveApplication';

// Against the real sandbox (real kube-apiserver, controllers, Helm, a real node running the demo
// app's PostgreSQL), as Ferry's backend reads it: with the token of charts/ferry's service account
// (its least-privilege RBAC). The demo chart installed with `helm upgrade --install` twice (two
// release records), read back in the three modes.
jest.setTimeout(300_000);

const ferryConfig = ferryConfigSchema.parse({
  targets: [{ name: 'local', type: 'filesystem', path: '/tmp/ferry-unused' }],
  policies: [{ name: 'daily', filter: { kind: 'component' } }],
});

let sandbox: Sandbox;
let registry: ClusterRegistry;
let token: string;
/** The demo images the chart runs on the real node (from the sandbox registry), sorted. */
let images: string[];

function clusterEntry(overrides: JsonObject = {}): JsonObject {
  const cluster = sandbox.kubeConfig.getCurrentCluster()!;
  const caData = cluster.caData ?? fs.readFileSync(cluster.caFile!).toString('base64');
  return {
    name: 'sandbox',
    url: sandbox.apiServerUrl,
    authProvider: 'serviceAccount',
    authMetadata: { serviceAccountToken: token },
    caData,
    ...overrides,
  };
}

function registryFor(clusters: JsonObject[]) {
  return ClusterRegistry.fromConfig(
    new ConfigReader({ kubernetes: { clusterLocatorMethods: [{ type: 'config', clusters }] } }),
  );
}

function entity(annotations: Record<string, string>, name = 'demo'): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  };
}

async function collectFor(annotations: Record<string, string>) {
  const target = resolveApplication({ entity: entity(annotations), clusters: registry.clusterNames(), ferryConfig });
  return collectApplication({ kubeConfig: await registry.getKubeConfig(target.cluster), target });
}

const names = (objects: KubernetesObject[]) => objects.map(o => `${o.kind}/${o.metadata?.name}`);

/** The claims of the chart's StatefulSet (data and wal: ext4; raw: Block, with db.rawVolume.enabled). */
const claimNames = ['data-demo-db-0', 'data-demo-db-1', 'raw-demo-db-0', 'raw-demo-db-1', 'wal-demo-db-0', 'wal-demo-db-1'];

const chartObjects = [
  'ConfigMap/demo-config',
  ...claimNames.map(claim => `PersistentVolumeClaim/${claim}`),
  'Secret/demo-db-credentials',
  'Service/demo-db',
  'Service/demo-web',
  'Deployment/demo-web',
  'StatefulSet/demo-db',
];

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  await installDemoApp(sandbox, { fillVolumes: false, rawVolumes: true, rows: 0 });
  // A second `helm upgrade` makes revision 2; revision 1 becomes superseded.
  await installDemoApp(sandbox, { fillVolumes: false, rawVolumes: true, rows: 0, set: { 'web.replicas': '1' } });
  images = [sandbox.images!.demo.db, sandbox.images!.demo.web].sort();
  token = await backendToken(sandbox);
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedConfigMap({
    namespace: 'demo',
    body: { metadata: { name: 'unrelated', labels: { team: 'other' } }, data: { a: 'b' } },
  });
  await core.createNamespacedConfigMap({
    namespace: 'demo',
    body: {
      metadata: { name: 'ferry-temp', labels: { 'app.kubernetes.io/managed-by': 'ferry' } },
      data: { a: 'b' },
    },
  });
  registry = registryFor([clusterEntry()]);
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('collectApplication on the sandbox', () => {
  it('reads a helm release: every chart resource, every release record, the claims, no owned objects', async () => {
    const snapshot = await collectFor({ 'ferry.io/helm-release': 'demo', 'ferry.io/namespace': 'demo' });
    expect(snapshot.warnings).toEqual([]);
    expect(names(snapshot.objects)).toEqual([
      ...chartObjects.slice(0, 8),
      'Secret/sh.helm.release.v1.demo.v1',
      'Secret/sh.helm.release.v1.demo.v2',
      ...chartObjects.slice(8),
    ]);
    expect(snapshot.resources.filter(r => r.source === 'claim-template').map(r => r.name)).toEqual(claimNames);
    expect(snapshot.resources.find(r => r.kind === 'Deployment')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'demo-web',
      namespace: 'demo',
      source: 'helm',
    });

    // Claims: bound, CSI driver of the sandbox, its default snapshot class, sizes from status.
    expect(snapshot.claims.map(c => c.metadata?.name)).toEqual(claimNames);
    expect(snapshot.volumes).toEqual([
      ...['data-demo-db-0', 'data-demo-db-1'].map(pvc => ({
        pvc,
        storageClass: 'ferry-sandbox',
        volumeMode: 'Filesystem',
        sizeBytes: 64 * 2 ** 20,
        csiDriver: 'sandbox.ferry.io',
        volumeSnapshotClass: 'ferry-sandbox',
      })),
      ...['raw-demo-db-0', 'raw-demo-db-1'].map(pvc => ({
        pvc,
        storageClass: 'ferry-sandbox',
        volumeMode: 'Block',
        sizeBytes: 16 * 2 ** 20,
        csiDriver: 'sandbox.ferry.io',
        volumeSnapshotClass: 'ferry-sandbox',
      })),
      ...['wal-demo-db-0', 'wal-demo-db-1'].map(pvc => ({
        pvc,
        storageClass: 'ferry-sandbox',
        volumeMode: 'Filesystem',
        sizeBytes: 16 * 2 ** 20,
        csiDriver: 'sandbox.ferry.io',
        volumeSnapshotClass: 'ferry-sandbox',
      })),
    ]);
    expect(snapshot.images).toEqual(images);

    // Cleaned for YAML.
    for (const object of snapshot.objects) {
      const record = object as KubernetesObject & { status?: unknown };
      expect(record.status).toBeUndefined();
      expect(object.metadata?.uid).toBeUndefined();
      expect(object.metadata?.resourceVersion).toBeUndefined();
      expect(object.metadata?.managedFields).toBeUndefined();
      expect(object.metadata?.creationTimestamp).toBeUndefined();
      expect(object.metadata?.ownerReferences).toBeUndefined();
      expect(object.apiVersion).toBeTruthy();
    }
    const service = (name: string) =>
      snapshot.objects.find(o => o.kind === 'Service' && o.metadata?.name === name) as KubernetesObject & {
        spec: { clusterIP?: string; clusterIPs?: string[] };
      };
    expect(service('demo-web').spec.clusterIP).toBeUndefined();
    expect(service('demo-web').spec.clusterIPs).toBeUndefined();
    expect(service('demo-db').spec.clusterIP).toBe('None');
    const claim = snapshot.objects.find(o => o.metadata?.name === 'data-demo-db-0') as KubernetesObject & {
      spec: { volumeName?: string; storageClassName?: string };
    };
    expect(claim.spec.volumeName).toBeUndefined();
    expect(claim.spec.storageClassName).toBe('ferry-sandbox');
    expect(Object.keys(claim.metadata?.annotations ?? {}).filter(k => k.includes('kubernetes.io/'))).toEqual([]);
    // The live claims keep what the pipeline needs.
    expect(snapshot.claims[0].spec?.volumeName).toMatch(/^pvc-/);

    // The release records decode, and the latest is the deployed revision.
    const record = snapshot.objects.find(o => o.metadata?.name === 'sh.helm.release.v1.demo.v2') as V1Secret;
    expect(record.type).toBe('helm.sh/release.v1');
    const release = decodeHelmReleaseSecret(record as KubernetesObject & { data?: Record<string, string> });
    expect(release).toMatchObject({ name: 'demo', namespace: 'demo', version: 2, info: { status: 'deployed' } });
    expect(release.manifest).toContain('name: demo-web');
  });

  it('reads a label selector across every listable type, leaving out pods and replica sets', async () => {
    const snapshot = await collectFor({ 'backstage.io/kubernetes-id': 'demo', 'ferry.io/namespace': 'demo' });
    expect(snapshot.warnings).toEqual([]);
    expect(names(snapshot.objects)).toEqual(chartObjects);
    expect(snapshot.resources.filter(r => r.source === 'selector')).toHaveLength(chartObjects.length);
    expect(snapshot.claims).toHaveLength(claimNames.length);
  });

  it('reads a whole namespace, without temporary, generated or owned objects', async () => {
    const snapshot = await collectFor({ 'ferry.io/namespace': 'demo' });
    const found = names(snapshot.objects);
    expect(snapshot.warnings).toEqual([]);
    expect(found).toEqual([
      'ConfigMap/demo-config',
      'ConfigMap/unrelated',
      ...chartObjects.slice(1, 8),
      'Secret/sh.helm.release.v1.demo.v1',
      'Secret/sh.helm.release.v1.demo.v2',
      'Service/demo-db',
      'Service/demo-web',
      'ServiceAccount/default',
      'Deployment/demo-web',
      'StatefulSet/demo-db',
    ]);
    expect(found).not.toContain('ConfigMap/kube-root-ca.crt');
    expect(found).not.toContain('ConfigMap/ferry-temp');
    const kinds = new Set(snapshot.objects.map(o => o.kind));
    for (const kind of ['Pod', 'ReplicaSet', 'ControllerRevision', 'Event', 'Endpoints', 'EndpointSlice', 'Lease']) {
      expect(kinds).not.toContain(kind);
    }
    const order = snapshot.objects.map(o => [groupOf(o.apiVersion), o.kind!, o.metadata!.name!]);
    const sorted = [...order].sort(
      (a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]) || a[2].localeCompare(b[2]),
    );
    expect(order).toEqual(sorted);
    expect(snapshot.claims).toHaveLength(claimNames.length);
  });

  it('names a helm release that does not exist', async () => {
    await expect(collectFor({ 'ferry.io/helm-release': 'nope', 'ferry.io/namespace': 'demo' })).rejects.toMatchObject({
      name: 'NotFoundError',
      message: expect.stringContaining('helm release nope not found in namespace demo'),
    });
  });

  it('names a namespace that does not exist', async () => {
    await expect(collectFor({ 'ferry.io/namespace': 'missing' })).rejects.toMatchObject({
      name: 'NotFoundError',
      message: expect.stringContaining('namespace missing does not exist'),
    });
  });
});

describe('ClusterRegistry against the sandbox', () => {
  it('reaches the cluster with the service account token of the Kubernetes plugin config', async () => {
    const kubeConfig = await registry.getKubeConfig('sandbox');
    expect(kubeConfig.getCurrentUser()?.token).toBe(token);
    // The chart's role may read a namespace (not list them all).
    const namespace = await kubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: 'demo' });
    expect(namespace.metadata?.name).toBe('demo');
  });

  it('lists page by page with the raw JSON of each object', async () => {
    const kubeConfig = await registry.getKubeConfig('sandbox');
    const list = (pageSize?: number) =>
      new KubernetesJsonClient(kubeConfig, { pageSize }).list({
        path: '/api/v1/namespaces/demo/configmaps',
        apiVersion: 'v1',
        kind: 'ConfigMap',
      });
    const paged = await list(1);
    expect(paged.length).toBeGreaterThanOrEqual(4);
    expect(paged).toEqual(await list());
    expect(paged.every(o => o.apiVersion === 'v1' && o.kind === 'ConfigMap')).toBe(true);
    // Timestamps stay strings, as the API server sent them (typed client-node models make Dates).
    expect(typeof paged[0].metadata?.creationTimestamp).toBe('string');
  });

  it('turns a rejected token into NotAllowedError', async () => {
    const bad = registryFor([clusterEntry({ authMetadata: { serviceAccountToken: 'not-a-token' } })]);
    const target = resolveApplication({ entity: entity({ 'ferry.io/namespace': 'demo' }), clusters: ['sandbox'], ferryConfig });
    await expect(collectApplication({ kubeConfig: await bad.getKubeConfig('sandbox'), target })).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining("cluster sandbox: reading namespace demo: the cluster rejected Ferry's credentials"),
    });
  });

  it('says a cluster at a closed port is unreachable', async () => {
    const port = await closedPort();
    const url = `https://127.0.0.1:${port}`;
    const down = registryFor([clusterEntry({ name: 'down', url })]);
    const target = resolveApplication({ entity: entity({ 'ferry.io/namespace': 'demo' }), clusters: ['down'], ferryConfig });
    await expect(collectApplication({ kubeConfig: await down.getKubeConfig('down'), target })).rejects.toMatchObject({
      name: 'ServiceUnavailableError',
      message: `cluster down is unreachable at ${url}: ECONNREFUSED`,
    });
  });
});

describe('plan route on the sandbox', () => {
  it('answers what a backup of the entity would contain', async () => {
    const annotated = entity({ 'ferry.io/helm-release': 'demo', 'ferry.io/namespace': 'demo' }, 'shop');
    const planPlugin = createBackendPlugin({
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
              clusters: registry,
              ferryConfig,
            });
            httpRouter.use(router);
          },
        });
      },
    });
    const { server } = await startTestBackend({
      features: [
        planPlugin,
        catalogServiceMock.factory({ entities: [annotated] }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
      ],
    });
    const response = await request(server).get('/api/backup/entities/component/default/shop/plan');
    expect(response.status).toBe(200);
    const plan = response.body as BackupPlan;
    expect(plan).toMatchObject({
      entityRef: 'component:default/shop',
      cluster: 'sandbox',
      namespace: 'demo',
      application: { helmReleases: ['demo'], labelSelectors: [], wholeNamespace: false },
      target: 'local',
      policy: 'daily',
      images,
      warnings: [],
    });
    expect(plan.resources.map(r => `${r.kind}/${r.name}`)).toContain('Secret/sh.helm.release.v1.demo.v2');
    expect(plan.volumes.map(v => v.volumeSnapshotClass)).toEqual(Array(claimNames.length).fill('ferry-sandbox'));
  });
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return port;
}
