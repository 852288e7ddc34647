import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { DatamoverConfig } from '../config/FerryConfig';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { RestoreStatus } from '../controller/RestoreResource';
import { buildDatamoverJob, DEVICE_PATH, runDatamoverJob, TargetAccess } from './datamoverJob';
import { createIfAbsent, deleteIfPresent, isConflict, isNotFound, KubeClients, mergePatch } from './KubeClients';
import { RESTORE_ID_ANNOTATION } from '../controller/RestoreResource';
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
 * hydrated straight from the repository into a Block-mode claim (no staging copy):
 * - an application claim in Block mode is that claim itself, created for the datamover's Job and
 *   then used by the workloads as it is (no snapshot round);
 * - an application claim in Filesystem mode cannot be seen as a device through CSI: the chain is
 *   hydrated into a temporary Block claim, which is snapshotted, and the application's claim is
 *   provisioned from the snapshot with allow-volume-mode-change on the snapshot's content.
 * Every name is deterministic and every step idempotent, so a resumed restore continues here.
 * An application claim that already exists, and that this restore did not create, is left alone
 * (Skipped).
 */
export async function restoreVolume(options: RestoreVolumeOptions): Promise<VolumeOutcome> {
  const { kube, namespace, volume, recorder } = options;
  const { pvc } = volume;
  const existing = await kube.core
    .readNamespacedPersistentVolumeClaim({ namespace, name: pvc })
    .catch(error => (isNotFound(error) ? undefined : Promise.reject(error)));
  const earlier = recorder.status.volumes?.find(v => v.pvc === pvc);
  const skipped = alreadyExists(options);
  const ours = existing?.metadata?.annotations?.[RESTORE_ID_ANNOTATION] === options.restoreId;
  if (existing && earlier?.phase === 'Completed') {
    // decided before an interruption: this status says which
    return earlier.reason === skipped ? { outcome: 'Skipped', reason: skipped } : { outcome: 'Created' };
  }
  if (existing && !ours) {
    await recorder.volume(pvc, { phase: 'Completed', reason: skipped });
    return { outcome: 'Skipped', reason: skipped };
  }
  if (existing && earlier?.phase !== 'Transferring') {
    // created by this restore before an interruption, after its data was in place
    await recorder.volume(pvc, { phase: 'Completed' });
    return { outcome: 'Created' };
  }
  const claimSpec = volume.claim?.spec ?? {};
  const requested = parseQuantity(claimSpec.resources?.requests?.storage) ?? 0;
  const size = String(Math.max(requested, volume.virtualSize));
  await recorder.volume(pvc, { phase: 'Transferring', bytesTotal: volume.virtualSize, bytesDone: 0 });
  return claimSpec.volumeMode === 'Block'
    ? hydrateApplicationClaim(options, size)
    : hydrateThroughSnapshot(options, size);
}

interface RestoreVolumeOptions {
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
}

/**
 * A Block-mode claim: the application's claim is created (marked with this restore's id, so
 * that a resumed restore knows it as its own) and the chain is hydrated into it. A failed
 * hydration deletes it again: nothing half-restored is left for the workloads.
 */
async function hydrateApplicationClaim(options: RestoreVolumeOptions, size: string): Promise<VolumeOutcome> {
  const { kube, namespace, volume, recorder } = options;
  const { pvc } = volume;
  const claim = await createApplicationClaim(options, applicationClaim(options, size));
  if (!claim) return skipForeignClaim(options);
  await recordVolumeTimes(recorder, pvc, { claimCreatedAt: nowIso() });
  const hydrated = await hydrate(options, pvc);
  if (!hydrated.ok) {
    // only the claim this restore created: a claim put in its place since is not touched
    const preconditions = { uid: claim.metadata!.uid };
    await deleteIfPresent(() =>
      kube.core.deleteNamespacedPersistentVolumeClaim({ namespace, name: pvc, body: { preconditions } }),
    );
    return { outcome: 'Failed', reason: hydrated.reason };
  }
  void releaseTemporaries({ kube, namespace, jobs: [hydrated.jobName] }).catch(() => undefined);
  await completed(recorder, volume);
  return { outcome: 'Created' };
}

/** A Filesystem-mode claim: hydrate a temporary Block claim, snapshot it, provision from it. */
async function hydrateThroughSnapshot(options: RestoreVolumeOptions, size: string): Promise<VolumeOutcome> {
  const { kube, namespace, volume, owner, recorder } = options;
  const { pvc } = volume;
  const deviceClaim = tempName({ operationId: options.restoreId, role: 'dst', pvc });
  const snapshotName = tempName({ operationId: options.restoreId, role: 'snap', pvc });
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
          storageClassName: volume.claim?.spec?.storageClassName,
          resources: { requests: { storage: size } },
        },
      },
    }),
  );
  await recordVolumeTimes(recorder, pvc, { claimCreatedAt: nowIso() });
  const hydrated = await hydrate(options, deviceClaim);
  if (!hydrated.ok) return { outcome: 'Failed', reason: hydrated.reason };

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
  const fresh = applicationClaim(options, size);
  const claim = await createApplicationClaim(options, {
    ...fresh,
    spec: {
      ...fresh.spec,
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshotName },
    },
  });
  // the Job and the temporary claim are done with (the snapshot stays until the claim is bound):
  // their deletion runs beside the other volumes instead of in the final cleanup
  void releaseTemporaries({ kube, namespace, jobs: [hydrated.jobName], claims: [deviceClaim] }).catch(() => undefined);
  if (!claim) return skipForeignClaim(options);
  await completed(recorder, volume, { claimFromSnapshotAt: nowIso() });
  return { outcome: 'Created' };
}

/**
 * Creates the application's claim; when one of that name appeared since the restore looked
 * (a StatefulSet's controller, a person), it is this restore's only if it carries its id:
 * any other is not written to, and undefined is returned.
 */
async function createApplicationClaim(
  options: RestoreVolumeOptions,
  body: V1PersistentVolumeClaim,
): Promise<V1PersistentVolumeClaim | undefined> {
  const { kube, namespace } = options;
  try {
    return await kube.core.createNamespacedPersistentVolumeClaim({ namespace, body });
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
  const found = await kube.core.readNamespacedPersistentVolumeClaim({ namespace, name: options.volume.pvc });
  return found.metadata?.annotations?.[RESTORE_ID_ANNOTATION] === options.restoreId ? found : undefined;
}

async function skipForeignClaim(options: RestoreVolumeOptions): Promise<VolumeOutcome> {
  const reason = alreadyExists(options);
  await options.recorder.volume(options.volume.pvc, { phase: 'Completed', reason });
  return { outcome: 'Skipped', reason };
}

function alreadyExists(options: { namespace: string; volume: VolumeToRestore }): string {
  return `claim ${options.namespace}/${options.volume.pvc} already exists; its data is left as it is`;
}

/** The application's claim as the backup has it (after transforms), fresh: no source, no volume. */
function applicationClaim(options: RestoreVolumeOptions, size: string): V1PersistentVolumeClaim {
  const { namespace, volume } = options;
  const metadata: KubernetesObject['metadata'] = volume.claim?.metadata ?? {};
  const claimSpec = volume.claim?.spec ?? {};
  return {
    metadata: {
      name: volume.pvc,
      namespace,
      labels: metadata.labels,
      annotations: { ...metadata.annotations, [RESTORE_ID_ANNOTATION]: options.restoreId },
    },
    spec: {
      ...claimSpec,
      volumeMode: claimSpec.volumeMode ?? 'Filesystem',
      accessModes: claimSpec.accessModes ?? ['ReadWriteOnce'],
      resources: { ...claimSpec.resources, requests: { ...claimSpec.resources?.requests, storage: size } },
      dataSource: undefined,
      dataSourceRef: undefined,
      volumeName: undefined,
    },
  };
}

/** Runs the datamover Job that writes the chain into `claimName` (a fresh, zeroed Block claim). */
async function hydrate(
  options: RestoreVolumeOptions,
  claimName: string,
): Promise<{ ok: true; jobName: string } | { ok: false; reason: string }> {
  const { kube, namespace, volume, owner, recorder } = options;
  const { pvc } = volume;
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
    device: { claimName, readOnly: false },
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
  return outcome.ok ? { ok: true, jobName } : { ok: false, reason: outcome.reason };
}

/** The volume is restored: its last times, then its phase (one status write for both). */
async function completed(recorder: StatusRecorder<RestoreStatus>, volume: VolumeToRestore, times: Record<string, string> = {}) {
  await recordVolumeTimes(recorder, volume.pvc, times);
  await recorder.volume(volume.pvc, { phase: 'Completed', bytesDone: volume.virtualSize });
}
