import type { KubeClients } from './KubeClients';
import { deleteIfPresent } from './KubeClients';

/**
 * Deletes every temporary object an operation created, found by its label (DESIGN §3 step 8):
 * Jobs (with their pods), exposed claims, VolumeSnapshots, credential Secrets. Safe to repeat.
 */
export async function cleanupTemporaries(options: {
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
    group: 'snapshot.storage.k8s.io',
    version: 'v1',
    plural: 'volumesnapshots',
    namespace,
    labelSelector,
  })) as { items: Array<{ metadata: { name: string } }> };
  for (const snapshot of snapshots.items) {
    await deleteIfPresent(() =>
      kube.custom.deleteNamespacedCustomObject({
        group: 'snapshot.storage.k8s.io',
        version: 'v1',
        plural: 'volumesnapshots',
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
