import { type V1Job, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeClients } from './KubeClients';
import { waitForJobClaims } from './claimBinding';
import { closedPortKubeConfig } from './__testUtils__/closedPortKubeConfig';

/**
 * The API calls of waitForJobClaims, answered by a fake: the claim `src` of class `classOf`
 * reads Pending `pendingReads` times, then Bound. No API server: the watch fails and the wait
 * polls (its fallback).
 */
function fakeCluster(o: { bindingMode?: string; pendingReads: number; storageClassName?: string }) {
  const calls: string[] = [];
  let reads = 0;
  const kubeConfig = closedPortKubeConfig();
  const kube = {
    kubeConfig,
    core: {
      readNamespacedPersistentVolumeClaim: async ({ name }: { name: string }): Promise<V1PersistentVolumeClaim> => {
        calls.push(`read ${name}`);
        const phase = reads++ < o.pendingReads ? 'Pending' : 'Bound';
        return { metadata: { name }, spec: { storageClassName: o.storageClassName ?? 'fast' }, status: { phase } };
      },
    },
    json: {
      get: async (path: string) => {
        calls.push(`get ${path}`);
        if (o.bindingMode === undefined) throw Object.assign(new Error('HTTP 404'), { code: 404 });
        return { volumeBindingMode: o.bindingMode };
      },
    },
  } as unknown as KubeClients;
  return { kube, calls };
}

const job: V1Job = {
  metadata: { name: 'ferry-1-backup-data', namespace: 'shop' },
  spec: {
    template: {
      spec: {
        containers: [],
        volumes: [
          { name: 'volume', persistentVolumeClaim: { claimName: 'src' } },
          { name: 'target', hostPath: { path: '/backups' } },
        ],
      },
    },
  },
};

describe('waitForJobClaims', () => {
  it('waits until a claim of an Immediate class is Bound', async () => {
    const cluster = fakeCluster({ bindingMode: 'Immediate', pendingReads: 3 });
    await expect(waitForJobClaims({ kube: cluster.kube, job })).resolves.toEqual({ problem: undefined });
    // the look at the claim and its class, then reads until the third Pending one is followed by Bound
    expect(cluster.calls).toEqual([
      'read src',
      'get /apis/storage.k8s.io/v1/storageclasses/fast',
      'read src',
      'read src',
      'read src',
    ]);
  });

  it('does not wait for a claim of a WaitForFirstConsumer class (it binds only for a pod)', async () => {
    const cluster = fakeCluster({ bindingMode: 'WaitForFirstConsumer', pendingReads: 100 });
    await expect(waitForJobClaims({ kube: cluster.kube, job })).resolves.toEqual({ problem: undefined });
    expect(cluster.calls).toEqual(['read src', 'get /apis/storage.k8s.io/v1/storageclasses/fast']);
  });

  it('does not wait when the class cannot be read, or the claim names none', async () => {
    const unreadable = fakeCluster({ pendingReads: 100 });
    await waitForJobClaims({ kube: unreadable.kube, job });
    expect(unreadable.calls).toEqual(['read src', 'get /apis/storage.k8s.io/v1/storageclasses/fast']);
    const none = fakeCluster({ bindingMode: 'Immediate', pendingReads: 100, storageClassName: '' });
    await waitForJobClaims({ kube: none.kube, job });
    expect(none.calls).toEqual(['read src']);
  });

  it('ends the wait with what diagnose reports (a claim that cannot be provisioned)', async () => {
    const cluster = fakeCluster({ bindingMode: 'Immediate', pendingReads: 100 });
    const diagnose = jest.fn(async () => 'the volume for src could not be provisioned: no space');
    await expect(waitForJobClaims({ kube: cluster.kube, job, diagnose })).resolves.toEqual({
      problem: 'the volume for src could not be provisioned: no space',
    });
    expect(diagnose).toHaveBeenCalledTimes(1);
  });
});
