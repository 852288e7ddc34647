import { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeClients } from './KubeClients';
import { createIfAbsent, deleteIfPresent, mergePatch, sleep } from './KubeClients';
import { watchChanges } from './watchChanges';
import { OperationOwner, ownerReferencesIn } from './OwnerRef';

const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
const SNAPSHOT_VERSION = 'v1';
export const ALLOW_VOLUME_MODE_CHANGE = 'snapshot.storage.kubernetes.io/allow-volume-mode-change';
const SNAPSHOT_POLL_MS = 200;

interface VolumeSnapshotObject {
  metadata?: { name?: string };
  status?: {
    readyToUse?: boolean;
    boundVolumeSnapshotContentName?: string;
    restoreSize?: string;
    error?: { message?: string };
  };
}

export interface ReadySnapshot {
  name: string;
  contentName: string;
  restoreSize?: string;
}

/** Creates a CSI VolumeSnapshot of a claim (idempotent: an existing one is reused). */
export async function createSnapshot(options: {
  kube: KubeClients;
  namespace: string;
  name: string;
  claim: string;
  volumeSnapshotClassName?: string;
  owner: OperationOwner;
}): Promise<void> {
  await createIfAbsent(() =>
    options.kube.custom.createNamespacedCustomObject({
      group: SNAPSHOT_GROUP,
      version: SNAPSHOT_VERSION,
      plural: 'volumesnapshots',
      namespace: options.namespace,
      body: {
        apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
        kind: 'VolumeSnapshot',
        metadata: {
          name: options.name,
          namespace: options.namespace,
          labels: options.owner.labels,
          ownerReferences: ownerReferencesIn(options.owner, options.namespace),
        },
        spec: {
          volumeSnapshotClassName: options.volumeSnapshotClassName,
          source: { persistentVolumeClaimName: options.claim },
        },
      },
    }),
  );
}

/** Waits until the snapshot is ready to use; fails with the driver's own error message. */
export async function waitForSnapshot(options: {
  kube: KubeClients;
  namespace: string;
  name: string;
  timeoutMs: number;
}): Promise<ReadySnapshot> {
  const deadline = Date.now() + options.timeoutMs;
  const changes = watchSnapshot(options.kube, options.namespace, options.name);
  try {
    return await pollSnapshot(options, deadline, changes.next);
  } finally {
    changes.stop();
  }
}

async function pollSnapshot(
  options: { kube: KubeClients; namespace: string; name: string; timeoutMs: number },
  deadline: number,
  changed: () => Promise<void>,
): Promise<ReadySnapshot> {
  for (;;) {
    const next = changed();
    const snapshot = (await options.kube.custom.getNamespacedCustomObject({
      group: SNAPSHOT_GROUP,
      version: SNAPSHOT_VERSION,
      plural: 'volumesnapshots',
      namespace: options.namespace,
      name: options.name,
    })) as VolumeSnapshotObject;
    const status = snapshot.status;
    if (status?.error?.message) {
      throw new Error(`snapshot ${options.name} failed: ${status.error.message}`);
    }
    if (status?.readyToUse && status.boundVolumeSnapshotContentName) {
      return {
        name: options.name,
        contentName: status.boundVolumeSnapshotContentName,
        restoreSize: status.restoreSize,
      };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `snapshot ${options.name} was not ready within ${Math.round(options.timeoutMs / 1000)} s`,
      );
    }
    // a snapshot is usually ready within a second: look often (one small GET), and at once when
    // the watch sees it change
    await Promise.race([sleep(SNAPSHOT_POLL_MS), next]);
  }
}

/**
 * Wakes the wait when the VolumeSnapshot changes (a watch of that one object), so its readiness
 * is seen at once instead of at the next poll; where the watch is refused, the loop polls.
 */
function watchSnapshot(kube: KubeClients, namespace: string, name: string) {
  return watchChanges(kube, {
    path: `/apis/${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}/namespaces/${namespace}/volumesnapshots`,
    query: { fieldSelector: `metadata.name=${name}` },
  });
}

/**
 * Exposes a snapshot as a new Block-mode claim for the datamover (DESIGN §3 step 4): marks the
 * VolumeSnapshotContent with allow-volume-mode-change, then creates the claim from it.
 */
export async function exposeSnapshotAsBlock(options: {
  kube: KubeClients;
  namespace: string;
  snapshot: ReadySnapshot;
  source: V1PersistentVolumeClaim;
  claimName: string;
  owner: OperationOwner;
}): Promise<void> {
  const { kube, snapshot, source } = options;
  await kube.custom.patchClusterCustomObject(
    {
      group: SNAPSHOT_GROUP,
      version: SNAPSHOT_VERSION,
      plural: 'volumesnapshotcontents',
      name: snapshot.contentName,
      body: { metadata: { annotations: { [ALLOW_VOLUME_MODE_CHANGE]: 'true' } } },
    },
    mergePatch,
  );
  const size =
    snapshot.restoreSize ??
    source.status?.capacity?.storage ??
    source.spec?.resources?.requests?.storage;
  await createIfAbsent(() =>
    kube.core.createNamespacedPersistentVolumeClaim({
      namespace: options.namespace,
      body: {
        metadata: {
          name: options.claimName,
          namespace: options.namespace,
          labels: options.owner.labels,
          ownerReferences: ownerReferencesIn(options.owner, options.namespace),
        },
        spec: {
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Block',
          storageClassName: source.spec?.storageClassName,
          resources: { requests: { storage: size ?? '1Gi' } },
          dataSource: {
            apiGroup: SNAPSHOT_GROUP,
            kind: 'VolumeSnapshot',
            name: snapshot.name,
          },
        },
      },
    }),
  );
}

export async function deleteSnapshot(kube: KubeClients, namespace: string, name: string) {
  await deleteIfPresent(() =>
    kube.custom.deleteNamespacedCustomObject({
      group: SNAPSHOT_GROUP,
      version: SNAPSHOT_VERSION,
      plural: 'volumesnapshots',
      namespace,
      name,
    }),
  );
}
