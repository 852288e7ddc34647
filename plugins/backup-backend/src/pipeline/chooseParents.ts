import { KeyUnavailableError, type Repository } from '@ferry/repository';

export interface VolumePlan {
  pvc: string;
  type: 'full' | 'incremental';
  parentBackupId?: string;
  /** Why this type, for the timeline. */
  reason: string;
}

/**
 * Full or incremental, per volume (issue: "incremental against the latest committed backup of
 * the same volume when its chain is intact; full when asked, when there is no parent, when the
 * volume grew, or when the policy's chain limit is reached").
 */
export async function chooseParents(options: {
  repository: Repository;
  app: string;
  claims: Array<{ pvc: string; sizeBytes?: number }>;
  requested: 'Auto' | 'Full' | 'Incremental';
  /** A new full backup after this many layers in a chain. */
  fullEvery: number;
}): Promise<VolumePlan[]> {
  const { repository, app } = options;
  if (options.requested === 'Full') {
    return options.claims.map(c => ({ pvc: c.pvc, type: 'full', reason: 'a full backup was requested' }));
  }
  const committed = (await repository.listBackups(app)).slice().reverse(); // newest first
  const manifests = await Promise.all(
    committed.slice(0, 50).map(id =>
      repository.readManifest(app, id).catch(error => {
        // The target's Secret lost the key of earlier backups (replaced instead of rotated):
        // stop before anything is written rather than silently starting over with a new key.
        if (error instanceof KeyUnavailableError) {
          throw new Error(`cannot choose the parents of this backup: ${error.message}; or request a full backup to start a new chain with the current key`);
        }
        return undefined;
      }),
    ),
  );
  const plans: VolumePlan[] = [];
  for (const claim of options.claims) {
    const latest = manifests.find(m => m?.volumes.some(v => v.pvc === claim.pvc));
    const volume = latest?.volumes.find(v => v.pvc === claim.pvc);
    if (!latest || !volume) {
      plans.push({ pvc: claim.pvc, type: 'full', reason: 'no earlier backup of this volume' });
      continue;
    }
    if (claim.sizeBytes !== undefined && claim.sizeBytes !== volume.virtualSize) {
      plans.push({
        pvc: claim.pvc,
        type: 'full',
        reason: `the volume changed size since ${latest.backupId} (${volume.virtualSize} → ${claim.sizeBytes} bytes)`,
      });
      continue;
    }
    const keyChange = encryptionChange(volume.protection?.encryption?.keyId, repository.keys?.current.id);
    if (keyChange) {
      plans.push({ pvc: claim.pvc, type: 'full', reason: `${keyChange} since ${latest.backupId}` });
      continue;
    }
    const chain = await repository
      .resolveChain({ app, pvc: claim.pvc, backupId: latest.backupId })
      .catch((error: Error) => error);
    if (chain instanceof Error) {
      plans.push({
        pvc: claim.pvc,
        type: 'full',
        reason: `the chain of ${latest.backupId} is broken: ${chain.message}`,
      });
      continue;
    }
    if (chain.length >= options.fullEvery) {
      plans.push({
        pvc: claim.pvc,
        type: 'full',
        reason: `the chain reached the policy's limit of ${options.fullEvery} layers`,
      });
      continue;
    }
    plans.push({
      pvc: claim.pvc,
      type: 'incremental',
      parentBackupId: latest.backupId,
      reason: `incremental on ${latest.backupId} (chain of ${chain.length})`,
    });
  }
  return plans;
}

/**
 * A chain keeps one LUKS key: a new key (rotation), or encryption turned on or off, starts a
 * new chain with a full backup, so no backup depends on a key that is being retired.
 */
function encryptionChange(parentKeyId: string | undefined, currentKeyId: string | undefined): string | undefined {
  if (parentKeyId === currentKeyId) return undefined;
  if (!parentKeyId) return 'the target is encrypted now';
  if (!currentKeyId) return 'the target is no longer encrypted';
  return `the target's encryption key changed (key id ${parentKeyId} → ${currentKeyId})`;
}
