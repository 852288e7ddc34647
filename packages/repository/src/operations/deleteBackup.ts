import { InvalidInputError, ObjectLockedError, ObjectNotFoundError } from '../errors';
import { layout } from '../layout';
import type { Repository } from '../Repository';
import type { KeepMarker } from '../schema/volumeRecord';
import type { AppLock } from './AppLock';
import { neededImages, pruneUnneeded } from './gc';
import { assertBackupUnlocked } from './lockBackup';

export interface DeleteBackupResult {
  backupId: string;
  /** Volumes whose image stays (marked `.keep`) because a kept backup's chain needs it. */
  keptVolumes: string[];
  deletedKeys: string[];
}

/**
 * Deletes a committed backup without breaking any kept chain. Images that a remaining backup's
 * chain still needs get a `.keep` marker (holding their record's digest) before the manifest goes;
 * everything else of the backup is removed. Marked images disappear by themselves once no chain
 * needs them (see `pruneUnneeded`). Restores of every remaining backup stay byte-exact because
 * no byte they read is touched. Crash-safe at every step: the manifest is removed only after
 * the markers exist, and leftovers of an interrupted delete are found again by `collectGarbage`.
 * On a target with Object Lock a backup still retained is refused (`ObjectLockedError` with the
 * date) before anything changes; a volume image whose retention a later overlay extended stays,
 * marked `.keep` with `lockedUntil`, until the lock ends (then `pruneUnneeded` removes it).
 */
export async function deleteBackup(
  repo: Repository,
  o: { app: string; backupId: string; lock: AppLock },
): Promise<DeleteBackupResult> {
  if (o.lock.app !== o.app) throw new InvalidInputError(`lock is for ${o.lock.app}, not ${o.app}`);
  await o.lock.check();
  await assertBackupUnlocked(repo, o.app, o.backupId);
  const manifest = await repo.readManifest(o.app, o.backupId);
  const others = (await repo.listBackups(o.app)).filter(id => id !== o.backupId);
  const needed = await neededImages(repo, o.app, others);
  const keptVolumes: string[] = [];
  for (const v of manifest.volumes) {
    const dependants = needed.get(`${v.pvc}/${o.backupId}`);
    const locked = await repo.target.retention(layout.image(o.app, v.pvc, o.backupId));
    if (!dependants && !locked) continue;
    const marker: KeepMarker = {
      formatVersion: 1,
      backupId: o.backupId,
      record: v.record,
      deletedAt: new Date().toISOString(),
      neededBy: [...(dependants ?? [])].sort(),
      ...(locked ? { lockedUntil: locked.until.toISOString() } : {}),
    };
    await repo.target.put(layout.keep(o.app, v.pvc, o.backupId), JSON.stringify(marker, null, 2));
    keptVolumes.push(v.pvc);
  }
  await o.lock.check();
  await repo.target.delete(layout.manifest(o.app, o.backupId)); // the backup is gone from here on
  const deletedKeys: string[] = [layout.manifest(o.app, o.backupId)];
  for await (const obj of repo.target.list(layout.backupPrefix(o.app, o.backupId))) {
    await repo.target.delete(obj.key);
    deletedKeys.push(obj.key);
  }
  // the image index goes; its blobs stay until garbage collection finds no index naming them
  await repo.target.delete(layout.imageIndex(o.app, o.backupId));
  deletedKeys.push(layout.imageIndex(o.app, o.backupId));
  for (const v of manifest.volumes) {
    if (keptVolumes.includes(v.pvc)) continue;
    for (const key of [
      layout.image(o.app, v.pvc, o.backupId),
      layout.sums(o.app, v.pvc, o.backupId),
      layout.index(o.app, v.pvc, o.backupId),
      layout.record(o.app, v.pvc, o.backupId),
    ]) {
      await repo.target.delete(key).catch(e => {
        if (!(e instanceof ObjectNotFoundError || e instanceof ObjectLockedError)) throw e;
      });
      deletedKeys.push(key);
    }
  }
  // parents that were kept only for this backup's sake are free now
  deletedKeys.push(...(await pruneUnneeded(repo, o.app)));
  return { backupId: o.backupId, keptVolumes, deletedKeys };
}
