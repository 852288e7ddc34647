import type { BackupStatus, ImageBackupStatus } from '../controller/BackupResource';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { FerryConfig } from '../config/FerryConfig';
import type { KubeClients } from '../pipeline/KubeClients';
import type { OperationOwner } from '../pipeline/OwnerRef';
import { buildDatamoverJob, runDatamoverJob, TargetAccess } from '../pipeline/datamoverJob';
import { tempName } from '../pipeline/tempNames';
import { combineAccess, prepareRegistryAccess, SecretLocation } from './registryAccess';

const IMAGE_TIMEOUT_MS = 2 * 60 * 60_000;

/** The datamover's `image backup` result (packages/datamover README). */
interface ImageBackupJobResult {
  index: { key: string; size: number; digest: string };
  images: Array<{ reference: string; digest?: string; bytes: number; newBytes: number; error?: string }>;
}

/**
 * DESIGN §3 step 6: a datamover Job copies every image the application runs into the repository
 * (blobs shared by all backups, so only new layers travel), with the pull secrets of the
 * application. An image that cannot be copied is a failure of the backup (PartiallyFailed), not
 * of its volumes. Idempotent: a resumed backup keeps a finished copy.
 */
export async function backupImagesStep(options: {
  kube: KubeClients;
  namespace: string;
  backupId: string;
  appId: string;
  images: readonly string[];
  pullSecrets: readonly SecretLocation[];
  owner: OperationOwner;
  access: TargetAccess;
  config: FerryConfig;
  recorder: StatusRecorder<BackupStatus>;
}): Promise<void> {
  const { recorder, images } = options;
  const done = recorder.status.imageBackup;
  if (images.length === 0 || done?.phase === 'Completed' || done?.phase === 'Failed') return;
  await recorder.update({ imageBackup: { phase: 'Running' } });
  const registry = await prepareRegistryAccess({
    kube: options.kube,
    namespace: options.namespace,
    sources: options.pullSecrets,
    secretName: tempName({ operationId: options.backupId, role: 'registry', pvc: 'credentials' }),
    owner: options.owner,
    insecureRegistries: options.config.images.insecureRegistries,
  });
  const job = buildDatamoverJob({
    name: tempName({ operationId: options.backupId, role: 'images', pvc: 'backup' }),
    namespace: options.namespace,
    owner: options.owner,
    config: options.config.datamover,
    command: ['image', 'backup'],
    env: [
      { name: 'FERRY_APP', value: options.appId },
      { name: 'FERRY_BACKUP_ID', value: options.backupId },
      { name: 'FERRY_IMAGES', value: images.join(',') },
    ],
    target: combineAccess(options.access, registry),
  });
  const outcome = await runDatamoverJob({ kube: options.kube, job, timeoutMs: IMAGE_TIMEOUT_MS });
  let status: ImageBackupStatus;
  if (outcome.ok) {
    const result = outcome.result as unknown as ImageBackupJobResult;
    status = {
      phase: 'Completed',
      index: result.index,
      images: result.images.map(image => ({
        image: image.reference,
        digest: image.digest,
        stored: !image.error,
        bytes: image.bytes,
        newBytes: image.newBytes,
        ...(image.error ? { reason: image.error } : {}),
      })),
    };
  } else {
    status = {
      phase: 'Failed',
      reason: outcome.reason,
      images: images.map(image => ({ image, stored: false, reason: outcome.reason })),
    };
  }
  for (const image of status.images ?? []) {
    if (!image.stored) await recorder.fail({ kind: 'Image', name: image.image, reason: image.reason ?? 'not copied' });
  }
  const stored = (status.images ?? []).filter(i => i.stored);
  const bytes = stored.reduce((sum, i) => sum + (i.bytes ?? 0), 0);
  const newBytes = stored.reduce((sum, i) => sum + (i.newBytes ?? 0), 0);
  await recorder.event(
    'Images',
    `Stored ${stored.length}/${images.length} images: ${bytes} bytes, ${newBytes} of them new (blobs already in the repository are not copied again)`,
    { imageBackup: status },
  );
}
