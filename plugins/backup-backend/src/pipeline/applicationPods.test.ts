import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { ApplicationSpec, ResourceRef } from '@ferry/plugin-backup-common';
import { hasHookAnnotations, isHookablePod, listHookPods } from './applicationPods';
import type { KubeClients } from './KubeClients';

const owner = (apiVersion: string, kind: string, name: string): V1OwnerReference => ({
  apiVersion,
  kind,
  name,
  uid: `${kind}-${name}`,
  controller: true,
});

function pod(
  name: string,
  options: { labels?: Record<string, string>; owner?: V1OwnerReference; phase?: string; annotations?: Record<string, string> } = {},
): V1Pod {
  return {
    metadata: {
      name,
      labels: options.labels ?? {},
      annotations: options.annotations ?? { 'pre.hook.backup.velero.io/command': 'true' },
      ...(options.owner ? { ownerReferences: [options.owner] } : {}),
    },
    spec: { containers: [{ name: 'main' }] },
    status: { phase: options.phase ?? 'Running' },
  };
}

/** A namespace `shop`: the demo release's pods, another app's pods and a Ferry datamover pod. */
const pods: V1Pod[] = [
  pod('demo-db-0', { labels: { app: 'demo' }, owner: owner('apps/v1', 'StatefulSet', 'demo-db') }),
  pod('demo-web-5d9f-abcde', { labels: { app: 'demo' }, owner: owner('apps/v1', 'ReplicaSet', 'demo-web-5d9f') }),
  pod('demo-report-28930-xyz', { owner: owner('batch/v1', 'Job', 'demo-report-28930') }),
  pod('demo-debug'),
  pod('other-web-77f-qwert', { labels: { app: 'other' }, owner: owner('apps/v1', 'ReplicaSet', 'other-web-77f') }),
  pod('other-db-0', { labels: { app: 'other' }, owner: owner('apps/v1', 'StatefulSet', 'other-db') }),
  pod('other-bare', { labels: { app: 'other' } }),
  pod('demo-db-1', { labels: { app: 'demo' }, owner: owner('apps/v1', 'StatefulSet', 'demo-db'), phase: 'Pending' }),
  pod('ferry-backup-x', { labels: { app: 'demo', 'app.kubernetes.io/managed-by': 'ferry' } }),
  // The app's, without hook annotations: a spec hook may pick it, no annotation hook runs in it.
  pod('demo-cache-0', { labels: { app: 'demo' }, owner: owner('apps/v1', 'StatefulSet', 'demo-cache'), annotations: {} }),
];

/** Owners of the intermediate controllers, as the API server would answer. */
const controllers: Record<string, V1OwnerReference[]> = {
  '/apis/apps/v1/namespaces/shop/replicasets/demo-web-5d9f': [owner('apps/v1', 'Deployment', 'demo-web')],
  '/apis/apps/v1/namespaces/shop/replicasets/other-web-77f': [owner('apps/v1', 'Deployment', 'other-web')],
  '/apis/batch/v1/namespaces/shop/jobs/demo-report-28930': [owner('batch/v1', 'CronJob', 'demo-report')],
  '/apis/apps/v1/namespaces/shop/statefulsets/other-db': [],
};

function fakeKube() {
  const reads: string[] = [];
  const kube = {
    core: { listNamespacedPod: async () => ({ items: pods }) },
    json: {
      get: async (path: string) => {
        reads.push(path);
        if (!(path in controllers)) throw Object.assign(new Error(`GET ${path} failed`), { code: 404 });
        return { metadata: { ownerReferences: controllers[path] } };
      },
    },
  } as unknown as KubeClients;
  return { kube, reads };
}

const release: ResourceRef[] = [
  { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'demo-db', namespace: 'shop' },
  { apiVersion: 'apps/v1', kind: 'Deployment', name: 'demo-web', namespace: 'shop' },
  { apiVersion: 'batch/v1', kind: 'CronJob', name: 'demo-report', namespace: 'shop' },
  { apiVersion: 'v1', kind: 'Pod', name: 'demo-debug', namespace: 'shop' },
  { apiVersion: 'v1', kind: 'Service', name: 'demo-web', namespace: 'shop' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'demo-cache', namespace: 'shop' },
];
const helm: ApplicationSpec = { helmReleases: ['demo'], labelSelectors: [], wholeNamespace: false };

const names = (list: V1Pod[]) => list.map(p => p.metadata!.name);

describe('listHookPods', () => {
  it("keeps the application's running pods, through every owner chain, and no other app's", async () => {
    const { kube, reads } = fakeKube();
    const result = await listHookPods({ kube, namespace: 'shop', application: helm, resources: release });
    expect(names(result.application)).toEqual([
      'demo-db-0', // StatefulSet in the set
      'demo-debug', // a bare Pod in the set
      'demo-report-28930-xyz', // Job → CronJob in the set
      'demo-web-5d9f-abcde', // ReplicaSet → Deployment in the set
    ]);
    // Spec hooks choose among all running pods (not Pending, not Ferry's own), sorted by name.
    expect(names(result.running)).toEqual([
      'demo-cache-0',
      'demo-db-0',
      'demo-debug',
      'demo-report-28930-xyz',
      'demo-web-5d9f-abcde',
      'other-bare',
      'other-db-0',
      'other-web-77f-qwert',
    ]);
    // Each controller is read once; a StatefulSet of another app ends its chain without an owner.
    expect(new Set(reads).size).toBe(reads.length);
  });

  it('keeps pods matched by the application label selectors', async () => {
    const { kube } = fakeKube();
    const result = await listHookPods({
      kube,
      namespace: 'shop',
      application: { helmReleases: [], labelSelectors: ['app=other'], wholeNamespace: false },
      resources: [],
    });
    expect(names(result.application)).toEqual(['other-bare', 'other-db-0', 'other-web-77f-qwert']);
  });

  it('keeps every running pod of a whole-namespace backup', async () => {
    const { kube } = fakeKube();
    const result = await listHookPods({
      kube,
      namespace: 'shop',
      application: { helmReleases: [], labelSelectors: [], wholeNamespace: true },
      resources: [],
    });
    expect(names(result.application)).toEqual(names(result.running).filter(name => name !== 'demo-cache-0'));
  });

  it('ignores resources of another namespace of the same name', async () => {
    const { kube } = fakeKube();
    const result = await listHookPods({
      kube,
      namespace: 'shop',
      application: helm,
      resources: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'other-db', namespace: 'elsewhere' }],
    });
    expect(names(result.application)).toEqual([]);
  });

  it('fails on an API error other than a vanished owner', async () => {
    const kube = {
      core: { listNamespacedPod: async () => ({ items: pods }) },
      json: { get: async () => Promise.reject(Object.assign(new Error('GET … failed'), { code: 403 })) },
    } as unknown as KubeClients;
    await expect(listHookPods({ kube, namespace: 'shop', application: helm, resources: [] })).rejects.toThrow(
      'cannot tell whether the pods of StatefulSet shop/demo-db belong to the application (their hook annotations would run): reading it failed: GET … failed',
    );
  });
});

describe('hasHookAnnotations', () => {
  it('is true for a command of either stage or the legacy key, false for none or an empty one', () => {
    const annotated = (annotations: Record<string, string>) => hasHookAnnotations(pod('a', { annotations }));
    expect(annotated({ 'pre.hook.backup.velero.io/command': 'x' })).toBe(true);
    expect(annotated({ 'post.hook.backup.velero.io/command': 'x' })).toBe(true);
    expect(annotated({ 'hook.backup.velero.io/command': 'x' })).toBe(true);
    expect(annotated({ 'pre.hook.backup.velero.io/command': '' })).toBe(false);
    expect(annotated({ 'pre.hook.backup.velero.io/container': 'db' })).toBe(false);
    expect(annotated({})).toBe(false);
  });
});

describe('isHookablePod', () => {
  it('takes Running pods that are not being deleted and not Ferry temporaries', () => {
    expect(isHookablePod(pod('a'))).toBe(true);
    expect(isHookablePod(pod('a', { phase: 'Succeeded' }))).toBe(false);
    expect(isHookablePod({ ...pod('a'), metadata: { name: 'a', deletionTimestamp: new Date() } })).toBe(false);
    expect(isHookablePod(pod('a', { labels: { 'app.kubernetes.io/managed-by': 'ferry' } }))).toBe(false);
  });
});
