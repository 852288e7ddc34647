import type { KubeClients } from './KubeClients';
import { deleteIfPresent, sleep } from './KubeClients';
import { watchChanges } from './watchChanges';

/** How often the cleanup looks again when no watch wakes it. */
const CLEANUP_POLL_MS = 200;

const SNAPSHOTS = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' };

/**
 * Deletes every temporary object an operation created, found by its label (DESIGN §3 step 8):
 * Jobs (with their pods), exposed claims, VolumeSnapshots, credential Secrets; then waits (up to
 * `timeoutMs`) until they are gone, finalizers included, so that a finished operation has left
 * nothing behind (woken by watches of what it waits for, polling as the fallback). Safe to
 * repeat.
 */
export async function cleanupTemporaries(options: {
  kube: KubeClients;
  namespace: string;
  labelSelector: string;
  timeoutMs?: number;
}): Promise<void> {
  await deleteTemporaries(options);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const changes = watchTemporaries(options);
  try {
    for (;;) {
      const changed = changes.next();
      const left = await remainingTemporaries(options);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`temporary objects still present: ${left.join(', ')}`);
      }
      await Promise.race([sleep(CLEANUP_POLL_MS), changed]);
    }
  } finally {
    changes.stop();
  }
}

/**
 * Wakes the cleanup's wait when a labelled pod, claim or snapshot changes (their finalizers are
 * what it waits for: the kubelet's teardown of a datamover pod, then the claim's protection, the
 * snapshot's content), so their end is seen at once instead of at the next poll.
 */
function watchTemporaries(options: { kube: KubeClients; namespace: string; labelSelector: string }) {
  const { kube, namespace, labelSelector } = options;
  const query = { labelSelector };
  return watchChanges(
    kube,
    { path: `/api/v1/namespaces/${namespace}/pods`, query },
    { path: `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, query },
    { path: `/apis/${SNAPSHOTS.group}/${SNAPSHOTS.version}/namespaces/${namespace}/${SNAPSHOTS.plural}`, query },
  );
}

/**
 * Deletes one volume's temporary objects as soon as they are no longer needed (its Job ended),
 * without waiting for them to go: the operation's final cleanup (`cleanupTemporaries`) then
 * finds less left to wait for. Best effort: what fails here, the final cleanup deletes.
 */
export async function releaseTemporaries(options: {
  kube: KubeClients;
  namespace: string;
  jobs?: string[];
  claims?: string[];
  snapshots?: string[];
}): Promise<void> {
  const { kube, namespace } = options;
  await Promise.all([
    ...(options.jobs ?? []).map(name =>
      deleteIfPresent(() => kube.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' })),
    ),
    ...(options.claims ?? []).map(name =>
      deleteIfPresent(() => kube.core.deleteNamespacedPersistentVolumeClaim({ namespace, name })),
    ),
    ...(options.snapshots ?? []).map(name =>
      deleteIfPresent(() => kube.custom.deleteNamespacedCustomObject({ ...SNAPSHOTS, namespace, name })),
    ),
  ]);
}

async function remainingTemporaries(options: {
  kube: KubeClients;
  namespace: string;
  labelSelector: string;
}): Promise<string[]> {
  const { kube, namespace, labelSelector } = options;
  const names = (kind: string, items: Array<{ metadata?: { name?: string } }>) =>
    items.map(item => `${kind}/${item.metadata?.name}`);
  const snapshots = (await kube.custom.listNamespacedCustomObject({
    ...SNAPSHOTS,
    namespace,
    labelSelector,
  })) as { items: Array<{ metadata: { name: string } }> };
  return [
    ...names('Job', (await kube.batch.listNamespacedJob({ namespace, labelSelector })).items),
    ...names('Pod', (await kube.core.listNamespacedPod({ namespace, labelSelector })).items),
    ...names(
      'PersistentVolumeClaim',
      (await kube.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector })).items,
    ),
    ...names('VolumeSnapshot', snapshots.items),
  ];
}

async function deleteTemporaries(options: {
  kube: KubeClients;
  namespace: string;
  labelSelector: string;
}): Promise<void> {
  const { kube, namespace, labelSelector } = options;
  const jobs = await kube.batch.listNamespacedJob({ namespace, labelSelector });
  for (const job of jobs.items) {
    await deleteIfPresent(() =>
      kube.batch.deleteNamespacedJob({
        namespace,
        name: job.metadata!.name!,
        propagationPolicy: 'Background',
      }),
    );
  }
  const pods = await kube.core.listNamespacedPod({ namespace, labelSelector });
  for (const pod of pods.items) {
    await deleteIfPresent(() =>
      kube.core.deleteNamespacedPod({ namespace, name: pod.metadata!.name! }),
    );
  }
  const claims = await kube.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector });
  for (const claim of claims.items) {
    await deleteIfPresent(() =>
      kube.core.deleteNamespacedPersistentVolumeClaim({ namespace, name: claim.metadata!.name! }),
    );
  }
  const snapshots = (await kube.custom.listNamespacedCustomObject({
    ...SNAPSHOTS,
    namespace,
    labelSelector,
  })) as { items: Array<{ metadata: { name: string } }> };
  for (const snapshot of snapshots.items) {
    await deleteIfPresent(() =>
      kube.custom.deleteNamespacedCustomObject({
        ...SNAPSHOTS,
        namespace,
        name: snapshot.metadata.name,
      }),
    );
  }
  const secrets = await kube.core.listNamespacedSecret({ namespace, labelSelector });
  for (const secret of secrets.items) {
    await deleteIfPresent(() =>
      kube.core.deleteNamespacedSecret({ namespace, name: secret.metadata!.name! }),
    );
  }
}
