import type { LoggerService } from '@backstage/backend-plugin-api';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { FerryConfig } from '../config/FerryConfig';
import type { StatusRecorder } from '../controller/StatusRecorder';
import { compressionEnv } from '../protection/compressionEnv';
import { releaseTemporaries } from './cleanupTemporaries';
import { buildDatamoverJob, DEVICE_PATH, TargetAccess, runDatamoverJob } from './datamoverJob';
import type { VolumePlan } from './chooseParents';
import type { KubeClients } from './KubeClients';
import type { OperationOwner } from './OwnerRef';
import { tempName } from './tempNames';
import { nowIso, recordVolumeTimes } from './volumeTimings';
import { createSnapshot, exposeSnapshotAsBlock, waitForSnapshot } from './volumeSnapshots';

const SNAPSHOT_TIMEOUT_MS = 10 * 60_000;
const TRANSFER_TIMEOUT_MS = 6 * 60 * 60_000;

/** Takes a volume's CSI snapshot and waits until it is ready; a failure fails that volume. */
export async function snapshotVolume(options: {
  kube: KubeClients;
  claim: V1PersistentVolumeClaim;
  backupId: string;
  namespace: string;
  owner: OperationOwner;
  recorder: StatusRecorder;
  /** Chosen by the claim's CSI driver in the plan; the driver's default when absent. */
  snapshotClass?: string;
}): Promise<void> {
  const { kube, backupId, namespace, owner, recorder } = options;
  const pvc = options.claim.metadata!.name!;
  const name = tempName({ operationId: backupId, role: 'snap', pvc });
  try {
    await recorder.volume(pvc, { phase: 'Snapshotting' });
    await recordVolumeTimes(recorder, pvc, { snapshotCreatedAt: nowIso() });
    await createSnapshot({
      kube,
      namespace,
      name,
      claim: pvc,
      volumeSnapshotClassName: options.snapshotClass,
      owner,
    });
    await waitForSnapshot({ kube, namespace, name, timeoutMs: SNAPSHOT_TIMEOUT_MS });
    await recordVolumeTimes(recorder, pvc, { snapshotReadyAt: nowIso() });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    await recorder.volume(pvc, { phase: 'Failed', reason });
    await recorder.fail({ kind: 'Volume', name: pvc, reason });
  }
}

/**
 * Backs up one snapshotted volume (DESIGN §3 steps 4-5): the snapshot exposed as a Block claim,
 * the datamover Job reading it into the repository, its temporaries released early. A failure
 * fails that volume only.
 */
export async function backupVolume(options: {
  kube: KubeClients;
  config: FerryConfig;
  logger: LoggerService;
  claim: V1PersistentVolumeClaim;
  plan: VolumePlan;
  backupId: string;
  appId: string;
  namespace: string;
  owner: OperationOwner;
  access: TargetAccess;
  recorder: StatusRecorder;
  /** The policy (its `compression`) and the target of the backup. */
  policy?: string;
  target: string;
}): Promise<void> {
  const { kube, claim, plan, backupId, namespace, owner, recorder } = options;
  const pvc = claim.metadata!.name!;
  const snapshotName = tempName({ operationId: backupId, role: 'snap', pvc });
  const exposedName = tempName({ operationId: backupId, role: 'src', pvc });
  const fail = async (reason: string) => {
    await recorder.volume(pvc, { phase: 'Failed', reason });
    await recorder.fail({ kind: 'Volume', name: pvc, reason });
  };
  try {
    const snapshot = await waitForSnapshot({
      kube,
      namespace,
      name: snapshotName,
      timeoutMs: SNAPSHOT_TIMEOUT_MS,
    });
    await recorder.volume(pvc, { phase: 'Exposing' });
    await exposeSnapshotAsBlock({ kube, namespace, snapshot, source: claim, claimName: exposedName, owner });
    await recordVolumeTimes(recorder, pvc, { claimCreatedAt: nowIso() });
    await recorder.volume(pvc, { phase: 'Transferring' });
    const env = [
      { name: 'FERRY_APP', value: options.appId },
      { name: 'FERRY_PVC', value: pvc },
      { name: 'FERRY_BACKUP_ID', value: backupId },
      { name: 'FERRY_DEVICE', value: DEVICE_PATH },
    ];
    if (plan.parentBackupId) env.push({ name: 'FERRY_PARENT', value: plan.parentBackupId });
    env.push(...compressionEnv({ config: options.config, policy: options.policy, target: options.target }));
    const jobName = tempName({ operationId: backupId, role: 'backup', pvc });
    const job = buildDatamoverJob({
      name: jobName,
      namespace,
      owner,
      config: options.config.datamover,
      command: ['volume', 'backup'],
      env,
      device: { claimName: exposedName, readOnly: true },
      target: options.access,
    });
    const outcome = await runDatamoverJob({
      kube,
      job,
      timeoutMs: TRANSFER_TIMEOUT_MS,
      onProgress: progress =>
        recorder.volume(pvc, {
          bytesDone: progress.bytesRead,
          bytesTotal: progress.bytesTotal,
        }),
      diagnose: () => diagnoseClaim(kube, namespace, exposedName),
    });
    if (outcome.timings) await recordVolumeTimes(recorder, pvc, { ...outcome.timings });
    if (!outcome.ok) {
      await fail(outcome.reason);
      return;
    }
    const result = outcome.result as unknown as DatamoverBackupResult;
    // this volume's Job, exposed claim and snapshot are done with: their deletion runs beside
    // the other volumes' transfers instead of in the final cleanup
    void releaseTemporaries({ kube, namespace, jobs: [jobName], claims: [exposedName], snapshots: [snapshotName] }).catch(
      error => options.logger.warn(`Early cleanup of ${pvc} in backup ${backupId} failed: ${error}`),
    );
    await recorder.volume(pvc, {
      phase: 'Completed',
      type: result.kind,
      bytesTotal: result.virtualSize,
      bytesDone: result.virtualSize,
      storedBytes: result.stats?.storedBytes ?? result.image?.size,
      record: result.record,
    });
  } catch (error) {
    await fail(error instanceof Error ? error.message : String(error));
  }
}

/** An unrecoverable state of an exposed claim, in words (Velero's exposer "peek"). */
async function diagnoseClaim(kube: KubeClients, namespace: string, claim: string): Promise<string | undefined> {
  const events = await kube.core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${claim}`,
  });
  const failed = events.items.find(e => e.reason === 'ProvisioningFailed');
  return failed ? `the volume for ${claim} could not be provisioned: ${failed.message}` : undefined;
}

/** The fields of the datamover's `volume backup` result the controller uses. */
interface DatamoverBackupResult {
  kind: 'full' | 'incremental';
  virtualSize: number;
  image?: { size: number };
  record: { key: string; size: number; digest: string };
  stats?: { storedBytes?: number };
}
