import type { KubernetesObject } from '@kubernetes/client-node';
import { cleanObject } from './cleanObject';
import { exclusionReason, objectKey } from './excludedObjects';
import { podImages } from './podImages';
import { quantityToBytes } from './quantity';
import { chooseSnapshotClass, statefulSetClaims } from './collectVolumes';

const liveMetadata = {
  name: 'web',
  namespace: 'shop',
  uid: '6f1c',
  resourceVersion: '42',
  generation: 3,
  creationTimestamp: '2026-01-01T00:00:00Z',
  selfLink: '/apis/apps/v1/namespaces/shop/deployments/web',
  managedFields: [{ manager: 'helm' }],
  ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '1' }],
  labels: { app: 'web' },
  annotations: {
    'kubectl.kubernetes.io/last-applied-configuration': '{}',
    'meta.helm.sh/release-name': 'shop',
  },
};

describe('cleanObject', () => {
  it('drops what the API server generates and keeps the rest', () => {
    const live = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: structuredClone(liveMetadata),
      spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
      status: { readyReplicas: 2 },
    };
    const cleaned = cleanObject(live as unknown as KubernetesObject);
    expect(cleaned).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        labels: { app: 'web' },
        annotations: { 'meta.helm.sh/release-name': 'shop' },
      },
      spec: live.spec,
    });
    expect(live.status).toBeDefined();
    expect(live.metadata.uid).toBe('6f1c');
  });

  it('drops cluster IPs unless headless', () => {
    const service = (clusterIP: string) =>
      cleanObject({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: { clusterIP, clusterIPs: [clusterIP], ports: [{ port: 80 }] },
      } as KubernetesObject) as KubernetesObject & { spec: Record<string, unknown> };
    expect(service('10.0.0.7').spec).toEqual({ ports: [{ port: 80 }] });
    expect(service('None').spec).toEqual({ clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }] });
  });

  it("drops a claim's volume name and the binder's annotations", () => {
    const claim = cleanObject({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data',
        annotations: {
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
          'volume.beta.kubernetes.io/storage-provisioner': 'sandbox.ferry.io',
          'volume.kubernetes.io/storage-provisioner': 'sandbox.ferry.io',
          'volume.kubernetes.io/selected-node': 'n1',
        },
      },
      spec: { volumeName: 'pvc-1', storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Bound' },
    } as KubernetesObject);
    expect(claim).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } },
    });
  });

  it("drops a Job's generated selector and controller labels", () => {
    const job = cleanObject({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate' },
      spec: {
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } },
        template: {
          metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'u', 'controller-uid': 'u', 'job-name': 'migrate', 'batch.kubernetes.io/job-name': 'migrate', app: 'm' } },
          spec: { containers: [] },
        },
      },
    } as KubernetesObject) as KubernetesObject & { spec: Record<string, unknown> };
    expect(job.spec).toEqual({ template: { metadata: { labels: { app: 'm' } }, spec: { containers: [] } } });
  });
});

describe('exclusionReason', () => {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } };
  const replicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u', controller: true }] },
  };
  it('leaves out objects whose controller is in the set, controlled pods, tokens, the ca bundle, ferry temporaries', () => {
    const keys = new Set([objectKey(deployment), objectKey(replicaSet)]);
    expect(exclusionReason(replicaSet, keys)).toBe('owned by Deployment web');
    expect(exclusionReason(replicaSet, new Set())).toBeUndefined();
    expect(exclusionReason(deployment, keys)).toBeUndefined();
    expect(
      exclusionReason(
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'u', controller: true }] } },
        keys,
      ),
    ).toBe('pod of ReplicaSet gone');
    expect(exclusionReason({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' } }, keys)).toBeUndefined();
    expect(exclusionReason({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 't' }, type: 'kubernetes.io/service-account-token' } as KubernetesObject, keys)).toBe('service account token');
    expect(exclusionReason({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' } }, keys)).toBe('cluster ca bundle');
    expect(exclusionReason({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { 'app.kubernetes.io/managed-by': 'ferry' } } }, keys)).toBe('ferry temporary object');
  });
});

describe('podImages', () => {
  it('reads every pod template, init containers included, de-duplicated and sorted', () => {
    const template = (images: string[], init: string[] = []) => ({
      template: { spec: { containers: images.map(image => ({ name: image, image })), initContainers: init.map(image => ({ name: image, image })) } },
    });
    expect(
      podImages([
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a' }, spec: template(['web:1'], ['init:1']) } as KubernetesObject,
        { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'b' }, spec: template(['db:2', 'web:1']) } as KubernetesObject,
        { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: template(['cron:3']) } } } as KubernetesObject,
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'd' }, spec: { containers: [{ name: 'x', image: 'bare:4' }] } } as KubernetesObject,
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'e' } },
      ]),
    ).toEqual(['bare:4', 'cron:3', 'db:2', 'init:1', 'web:1']);
  });
});

describe('volumes', () => {
  it('parses quantities', () => {
    expect(quantityToBytes('64Mi')).toBe(64 * 2 ** 20);
    expect(quantityToBytes('1G')).toBe(1e9);
    expect(quantityToBytes('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(quantityToBytes('1e3')).toBe(1000);
    expect(() => quantityToBytes('lots')).toThrow("'lots' is not a kubernetes quantity");
  });

  it('prefers the default snapshot class of the driver', () => {
    const cls = (name: string, driver: string, isDefault = false) => ({
      metadata: {
        name,
        annotations: (isDefault ? { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } : {}) as Record<string, string>,
      },
      driver,
    });
    const classes = [cls('a', 'other', true), cls('z', 'csi.x', true), cls('b', 'csi.x')];
    expect(chooseSnapshotClass(classes, 'csi.x')).toBe('z');
    expect(chooseSnapshotClass([cls('c', 'csi.x'), cls('b', 'csi.x')], 'csi.x')).toBe('b');
    expect(chooseSnapshotClass(classes, 'csi.none')).toBeUndefined();
  });

  it('finds the claims of a StatefulSet by template, name and ordinal', () => {
    const claim = (name: string) => ({ metadata: { name } });
    const existing = new Map(['data-db-0', 'data-db-1', 'data-db-2', 'wal-db-0'].map(n => [n, claim(n)]));
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 2, volumeClaimTemplates: [{ metadata: { name: 'data' } }, { metadata: { name: 'wal' } }] } };
    expect(statefulSetClaims([sts], existing).map(c => c.metadata?.name)).toEqual(['data-db-0', 'data-db-1', 'wal-db-0']);
  });
});
