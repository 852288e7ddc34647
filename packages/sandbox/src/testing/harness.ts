import { BatchV1Api, CoreV1Api, CustomObjectsApi, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Sandbox, startSandbox, StartSandboxOptions } from '../sandbox';
import { waitFor } from '../waitFor';

// Helpers shared by the sandbox's integration tests (jest only).

export const execFileAsync = promisify(execFile);
export const snapshotApi = { group: 'snapshot.storage.k8s.io', version: 'v1' };

export type SandboxContext = {
  sandbox: Sandbox;
  core: CoreV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
};

/**
 * One ephemeral sandbox for the whole test file: started in beforeAll, stopped in afterAll
 * (stop() is idempotent, so a test may stop it first). The returned object is filled in beforeAll.
 */
export function useSharedSandbox(options: () => StartSandboxOptions = () => ({})): SandboxContext {
  const context = {} as SandboxContext;
  beforeAll(async () => {
    context.sandbox = await startSandbox({ ephemeral: true, ...options() });
    context.core = context.sandbox.kubeConfig.makeApiClient(CoreV1Api);
    context.batch = context.sandbox.kubeConfig.makeApiClient(BatchV1Api);
    context.custom = context.sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
  }, 180_000);
  afterAll(() => context.sandbox?.stop(), 60_000);
  return context;
}

export async function createNamespace(core: CoreV1Api, name: string) {
  await core.createNamespace({ body: { metadata: { name } } });
  await waitFor(
    async () => (await core.listNamespacedServiceAccount({ namespace: name })).items.some(a => a.metadata?.name === 'default'),
    { description: `default service account in ${name}` },
  );
}

export function claim(name: string, options: Partial<V1PersistentVolumeClaim['spec']> = {}): V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'ferry-sandbox',
      resources: { requests: { storage: '8Mi' } },
      ...options,
    },
  };
}

export async function waitBound(core: CoreV1Api, namespace: string, name: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
      return pvc.status?.phase === 'Bound' ? pvc : undefined;
    },
    { description: `claim ${namespace}/${name} to be Bound`, timeoutMs },
  );
}

export type SnapshotView = {
  status?: { readyToUse?: boolean; boundVolumeSnapshotContentName?: string; restoreSize?: string; creationTime?: string };
};

/** Creates a VolumeSnapshot of a claim (class ferry-sandbox) and waits until it is ready. */
export async function takeSnapshot(custom: CustomObjectsApi, namespace: string, name: string, claimName: string) {
  await custom.createNamespacedCustomObject({
    ...snapshotApi,
    namespace,
    plural: 'volumesnapshots',
    body: {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name },
      spec: { volumeSnapshotClassName: 'ferry-sandbox', source: { persistentVolumeClaimName: claimName } },
    },
  });
  return waitFor(
    async () => {
      const vs = (await custom.getNamespacedCustomObject({
        ...snapshotApi,
        namespace,
        plural: 'volumesnapshots',
        name,
      })) as SnapshotView;
      return vs.status?.readyToUse ? vs : undefined;
    },
    { description: `snapshot ${namespace}/${name} to be ready` },
  );
}

export const fromSnapshot = (snapshotName: string) => ({
  apiGroup: 'snapshot.storage.k8s.io',
  kind: 'VolumeSnapshot',
  name: snapshotName,
});

/** True once `read` fails with 404. */
export async function isGone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    return (error as { code?: number }).code === 404;
  }
}

/** The CSI driver's file of a ready VolumeSnapshot (`<dataDir>/csi/storage/snapshots/<handle>.img`). */
export async function snapshotFile(sandbox: Sandbox, custom: CustomObjectsApi, snapshot: SnapshotView): Promise<string> {
  const content = (await custom.getClusterCustomObject({
    ...snapshotApi,
    plural: 'volumesnapshotcontents',
    name: snapshot.status!.boundVolumeSnapshotContentName!,
  })) as { status: { snapshotHandle: string } };
  return path.join(sandbox.dataDir, 'csi', 'storage', 'snapshots', `${content.status.snapshotHandle}.img`);
}
