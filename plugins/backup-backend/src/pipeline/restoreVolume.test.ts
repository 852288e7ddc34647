import { type CustomObjectsApi, type V1Job, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { datamoverConfigSchema } from '../config/FerryConfig';
import { RESTORE_ID_ANNOTATION, type RestoreStatus } from '../controller/RestoreResource';
import { StatusRecorder } from '../controller/StatusRecorder';
import type { KubeClients } from './KubeClients';
import { restoreVolume } from './restoreVolume';
import { tempName } from './tempNames';
import { closedPortKubeConfig } from './__testUtils__/closedPortKubeConfig';

const RESTORE_ID = 'r-20261207-abcdef';
const owner = { apiVersion: 'ferry.io/v1alpha1', kind: 'Restore', name: 'r', namespace: 'ferry-system', uid: 'u-1', labels: {} };

const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });

/**
 * The API calls restoreVolume makes, answered from `claims` (the namespace's claims, changed by
 * `beforeCreate` to play whoever acts between the restore's look and its create). Every call is
 * logged; a datamover Job ends Failed.
 */
function fakeCluster(o: { claims: Map<string, V1PersistentVolumeClaim>; beforeCreate?: () => void }) {
  const calls: string[] = [];
  const deletes: Array<{ name: string; uid?: string }> = [];
  const kubeConfig = closedPortKubeConfig();
  const kube = {
    kubeConfig,
    core: {
      readNamespacedPersistentVolumeClaim: async ({ name }: { name: string }) => {
        calls.push(`read ${name}`);
        const claim = o.claims.get(name);
        if (!claim) throw apiError(404);
        return claim;
      },
      createNamespacedPersistentVolumeClaim: async ({ body }: { body: V1PersistentVolumeClaim }) => {
        calls.push(`create ${body.metadata!.name}`);
        o.beforeCreate?.();
        if (o.claims.has(body.metadata!.name!)) throw apiError(409);
        const created = { ...body, metadata: { ...body.metadata, uid: `uid-of-${body.metadata!.name}` } };
        o.claims.set(body.metadata!.name!, created);
        return created;
      },
      deleteNamespacedPersistentVolumeClaim: async (r: { name: string; body?: { preconditions?: { uid?: string } } }) => {
        calls.push(`delete ${r.name}`);
        deletes.push({ name: r.name, uid: r.body?.preconditions?.uid });
        const current = o.claims.get(r.name);
        if (current && r.body?.preconditions?.uid && current.metadata?.uid !== r.body.preconditions.uid) throw apiError(409);
        o.claims.delete(r.name);
      },
      listNamespacedPod: async () => ({ items: [] }),
    },
    batch: {
      createNamespacedJob: async ({ body }: { body: V1Job }) => {
        calls.push(`job ${body.metadata!.name}`);
        return body;
      },
      readNamespacedJob: async () => ({
        status: { conditions: [{ type: 'Failed', status: 'True', message: 'the target refused the keys' }] },
      }),
      deleteNamespacedJob: async () => undefined,
    },
  } as unknown as KubeClients;
  return { kube, calls, deletes };
}

function recorder(status: Partial<RestoreStatus> = {}) {
  const api = { patchNamespacedCustomObjectStatus: async () => ({}) } as unknown as CustomObjectsApi;
  return new StatusRecorder<RestoreStatus>({ api, plural: 'restores', namespace: 'ferry-system', name: 'r', status: status as RestoreStatus });
}

const blockClaim: V1PersistentVolumeClaim = {
  metadata: { name: 'data', labels: { app: 'db' } },
  spec: { volumeMode: 'Block', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
};

const foreign = (name: string): V1PersistentVolumeClaim => ({
  metadata: { name, namespace: 'shop', uid: 'uid-theirs', annotations: { owner: 'someone else' } },
  spec: { volumeMode: 'Block' },
});

function restore(kube: KubeClients, status: StatusRecorder<RestoreStatus>, claim = blockClaim) {
  return restoreVolume({
    kube,
    namespace: 'shop',
    restoreId: RESTORE_ID,
    appId: 'shop',
    backupId: 'b1',
    volume: { pvc: 'data', virtualSize: 1 << 30, claim },
    owner,
    access: { env: [], volumes: [], mounts: [] },
    datamover: datamoverConfigSchema.parse({}),
    recorder: status,
  });
}

const skipped = 'claim shop/data already exists; its data is left as it is';

describe('restoreVolume and claims it did not create', () => {
  it('never writes into a claim that appeared between its look and its create (a StatefulSet, a person)', async () => {
    const claims = new Map<string, V1PersistentVolumeClaim>();
    const cluster = fakeCluster({ claims, beforeCreate: () => claims.set('data', foreign('data')) });
    const status = recorder();
    await expect(restore(cluster.kube, status)).resolves.toEqual({ outcome: 'Skipped', reason: skipped });
    // no datamover Job, no delete: the claim that won the race keeps its data
    expect(cluster.calls).toEqual(['read data', 'create data', 'read data']);
    expect(claims.get('data')!.metadata!.uid).toBe('uid-theirs');
    expect(status.status.volumes).toEqual([expect.objectContaining({ pvc: 'data', phase: 'Completed', reason: skipped })]);
  });

  it('treats a claim of that name as its own only with its own restore id', async () => {
    const other = foreign('data');
    other.metadata!.annotations = { [RESTORE_ID_ANNOTATION]: 'r-20261207-someone' };
    const claims = new Map([['data', other]]);
    const cluster = fakeCluster({ claims });
    // even when this restore's status says it was transferring that volume (resumed)
    const status = recorder({ volumes: [{ pvc: 'data', phase: 'Transferring' }] } as Partial<RestoreStatus>);
    await expect(restore(cluster.kube, status)).resolves.toEqual({ outcome: 'Skipped', reason: skipped });
    expect(cluster.calls).toEqual(['read data']);
  });

  it('does not call a foreign claim restored when resuming after its snapshot step', async () => {
    const claims = new Map([['data', foreign('data')]]);
    const cluster = fakeCluster({ claims });
    const status = recorder({ volumes: [{ pvc: 'data', phase: 'Snapshotting' }] } as Partial<RestoreStatus>);
    const filesystem = { ...blockClaim, spec: { ...blockClaim.spec, volumeMode: 'Filesystem' } };
    await expect(restore(cluster.kube, status, filesystem)).resolves.toEqual({ outcome: 'Skipped', reason: skipped });
    expect(cluster.calls).toEqual(['read data']);
  });

  it('keeps the outcome its status recorded before an interruption', async () => {
    const claims = new Map([['data', foreign('data')]]);
    const cluster = fakeCluster({ claims });
    const created = recorder({ volumes: [{ pvc: 'data', phase: 'Completed' }] } as Partial<RestoreStatus>);
    await expect(restore(cluster.kube, created)).resolves.toEqual({ outcome: 'Created' });
    const left = recorder({ volumes: [{ pvc: 'data', phase: 'Completed', reason: skipped }] } as Partial<RestoreStatus>);
    await expect(restore(cluster.kube, left)).resolves.toEqual({ outcome: 'Skipped', reason: skipped });
    expect(cluster.calls).toEqual(['read data', 'read data']);
  });

  it('after a failed hydration deletes only the claim it created (uid precondition)', async () => {
    const claims = new Map<string, V1PersistentVolumeClaim>();
    const cluster = fakeCluster({ claims });
    const outcome = await restore(cluster.kube, recorder());
    expect(outcome).toMatchObject({ outcome: 'Failed', reason: expect.stringContaining('the target refused the keys') });
    // the second read: whether the claim is still to bind before its Job (claimBinding.ts)
    const job = `job ${tempName({ operationId: RESTORE_ID, role: 'restore', pvc: 'data' })}`;
    expect(cluster.calls).toEqual(['read data', 'create data', 'read data', job, 'delete data']);
    expect(cluster.deletes).toEqual([{ name: 'data', uid: 'uid-of-data' }]);
    expect(claims.has('data')).toBe(false);
  });
});
