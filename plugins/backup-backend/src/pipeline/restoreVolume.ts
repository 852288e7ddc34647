import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { DatamoverConfig } from '../config/FerryConfig';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { RestoreStatus } from '../controller/RestoreResource';
import { buildDatamoverJob, DEVICE_PATH, runDatamoverJob, TargetAccess } from './datamoverJob';
import { createIfAbsent, isNotFound, KubeClients, mergePatch, sleep } from './KubeClients';
import { OperationOwner, ownerReferencesIn } from './OwnerRef';
import { parseQuantity } from './quantity';
import { releaseTemporaries } from './cleanupTemporaries';
import { tempName } from './tempNames';
import { nowIso, recordVolumeTimes } from './volumeTimings';
import { ALLOW_VOLUME_MODE_CHANGE, createSnapshot, waitForSnapshot } from './volumeSnapshots';

const SNAPSHOT_TIMEOUT_MS = 10 * 60_000;
const TRANSFER_TIMEOUT_MS = 6 * 60 * 60_000;

/** One backed-up volume to restore: the claim as it will be created, and the image's size. */
export interface VolumeToRestore {
  pvc: string;
  virtualSize: number;
  /** The backed-up claim after transforms; undefined when the backup has no YAML for it. */
  claim?: V1PersistentVolumeClaim;
}

export type VolumeOutcome =
  | { outcome: 'Created' }
  | { outcome: 'Skipped'; reason: string }
  | { outcome: 'Failed'; reason: string };

/**
 * Restores one volume (DESIGN §4 step 2). The datamover needs a raw device, so the chain is
 * hydrated straight from the repository into a fresh Block-mode claim (no staging copy); that
 * claim is snapshotted and the application's claim, in its own volume mode (usually Filesystem),
 * is provisioned from the snapshot with allow-volume-mode-change on the snapshot's content. Every
 * name is deterministic and every step idempotent, so a resumed restore continues here.
 * An application claim that already exists is left alone (Skipped).
 */
export async function restoreVolume(options: {
  kube: KubeClients;
  namespace: string;
  restoreId: string;
  appId: string;
  backupId: string;
  volume: VolumeToRestore;
  owner: OperationOwner;
  access: TargetAccess;
  datamover: DatamoverConfig;
  recorder: StatusRecorder<RestoreStatus>;
}): Promise<VolumeOutcome> {
  const { kube, namespace, volume, owner, recorder } = options;
  const { pvc } = volume;
  const existing = await kube.core
    .readNamespacedPersistentVolumeClaim({ namespace, name: pvc })
    .catch(error => (isNotFound(error) ? undefined : Promise.reject(error)));
  const earlier = recorder.status.volumes?.find(v => v.pvc === pvc);
  const skipped = `claim ${namespace}/${pvc} already exists; its data is left as it is`;
  if (existing && earlier?.phase === 'Completed' && earlier.reason === skipped) {
    return { outcome: 'Skipped', reason: skipped };
  }
  if (existing && earlier?.phase !== 'Snapshotting' && earlier?.phase !== 'Completed') {
    await recorder.volume(pvc, { phase: 'Completed', reason: skipped });
    return { outcome: 'Skipped', reason: skipped };
  }
  if (existing) {
    await recorder.volume(pvc, { phase: 'Completed' });
    return { outcome: 'Created' };
  }
  const claimSpec = volume.claim?.spec ?? {};
  const requested = parseQuantity(claimSpec.resources?.requests?.storage) ?? 0;
  const size = String(Math.max(requested, volume.virtualSize));
  const storageClassName = claimSpec.storageClassName;
  const deviceClaim = tempName({ operationId: options.restoreId, role: 'dst', pvc });
  const snapshotName = tempName({ operationId: options.restoreId, role: 'snap', pvc });

  await recorder.volume(pvc, { phase: 'Transferring', bytesTotal: volume.virtualSize, bytesDone: 0 });
  await createIfAbsent(() =>
    kube.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: {
          name: deviceClaim,
          namespace,
          labels: owner.labels,
          ownerReferences: ownerReferencesIn(owner, namespace),
        },
        spec: {
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Block',
          storageClassName,
          resources: { requests: { storage: size } },
        },
      },
    }),
  );
  await recordVolumeTimes(recorder, pvc, { claimCreatedAt: nowIso() });
  const jobName = tempName({ operationId: options.restoreId, role: 'restore', pvc });
  const job = buildDatamoverJob({
    name: jobName,
    namespace,
    owner,
    config: options.datamover,
    command: ['volume', 'restore'],
    env: [
      { name: 'FERRY_APP', value: options.appId },
      { name: 'FERRY_PVC', value: pvc },
      { name: 'FERRY_BACKUP_ID', value: options.backupId },
      { name: 'FERRY_DEVICE', value: DEVICE_PATH },
      // The claim is freshly provisioned: zero ranges need not be written.
      { name: 'FERRY_ASSUME_ZEROED', value: 'true' },
    ],
    device: { claimName: deviceClaim, readOnly: false },
    target: options.access,
  });
  const outcome = await runDatamoverJob({
    kube,
    job,
    timeoutMs: TRANSFER_TIMEOUT_MS,
    onProgress: progress =>
      recorder.volume(pvc, {
        bytesDone: progress.bytesWritten ?? progress.bytesRead,
        bytesTotal: progress.bytesTotal ?? volume.virtualSize,
      }),
  });
  if (outcome.timings) await recordVolumeTimes(recorder, pvc, { ...outcome.timings });
  if (!outcome.ok) return { outcome: 'Failed', reason: outcome.reason };

  await recorder.volume(pvc, { phase: 'Snapshotting', bytesDone: volume.virtualSize });
  await createSnapshot({ kube, namespace, name: snapshotName, claim: deviceClaim, owner });
  const snapshot = await waitForSnapshot({ kube, namespace, name: snapshotName, timeoutMs: SNAPSHOT_TIMEOUT_MS });
  await recordVolumeTimes(recorder, pvc, { snapshotReadyAt: nowIso() });
  await kube.custom.patchClusterCustomObject(
    {
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      plural: 'volumesnapshotcontents',
      name: snapshot.contentName,
      body: { metadata: { annotations: { [ALLOW_VOLUME_MODE_CHANGE]: 'true' } } },
    },
    mergePatch,
  );
  const metadata: KubernetesObject['metadata'] = volume.claim?.metadata ?? {};
  await createIfAbsent(() =>
    kube.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: {
          name: pvc,
          namespace,
          labels: metadata.labels,
          annotations: metadata.annotations,
        },
        spec: {
          ...claimSpec,
          volumeMode: claimSpec.volumeMode ?? 'Filesystem',
          accessModes: claimSpec.accessModes ?? ['ReadWriteOnce'],
          resources: { ...claimSpec.resources, requests: { ...claimSpec.resources?.requests, storage: size } },
          dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshotName },
          dataSourceRef: undefined,
          volumeName: undefined,
        },
      },
    }),
  );
  // the Job and the temporary claim are done with (the snapshot stays until the claim is bound):
  // their deletion runs beside the other volumes instead of in the final cleanup
  void releaseTemporaries({ kube, namespace, jobs: [jobName], claims: [deviceClaim] }).catch(() => undefined);
  await recorder.volume(pvc, { phase: 'Completed', bytesDone: volume.virtualSize, timings: { ...recorder.status.volumes?.find(v => v.pvc === pvc)?.timings, claimFromSnapshotAt: nowIso() } });
  return { outcome: 'Created' };
}

/**
 * Waits until the restored claims are bound, so their snapshots may go. A claim of a
 * WaitForFirstConsumer class binds only once a pod uses it: the wait is bounded.
 */
export async function waitForClaimsBound(options: {
  kube: KubeClients;
  namespace: string;
  claims: string[];
  timeoutMs: number;
}): Promise<string[]> {
  const deadline = Date.now() + options.timeoutMs;
  let unbound = options.claims;
  while (unbound.length > 0 && Date.now() < deadline) {
    const next: string[] = [];
    for (const name of unbound) {
      const claim = await options.kube.core
        .readNamespacedPersistentVolumeClaim({ namespace: options.namespace, name })
        .catch(() => undefined);
      if (claim?.status?.phase !== 'Bound') next.push(name);
    }
    unbound = next;
    if (unbound.length) await sleep(500);
  }
  return unbound;
}
