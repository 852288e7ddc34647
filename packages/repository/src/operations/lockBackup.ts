import { ObjectLockedError } from '../errors';
import { ImageStore } from '../images/ImageStore';
import { layout } from '../layout';
import type { Repository } from '../Repository';
import type { Manifest } from '../schema/manifest';
import { imageIndexDigests } from '../schema/imageIndex';
import type { ObjectRef } from '../schema/objectRef';
import type { Retention } from '../target/Target';

const PARALLEL = 8;

/**
 * Every object a backup's restore reads, but its manifest: its own objects, the records,
 * images, `.sums` and `.index` of each volume's whole chain (down to the full image: a base
 * must live as long as its last overlay), its image index and every blob that index names.
 */
export async function objectsOfBackup(repo: Repository, manifest: Manifest): Promise<string[]> {
  const keys = new Set<string>(manifest.objects.map(o => o.key));
  for (const v of manifest.volumes) {
    let ref: ObjectRef | undefined = v.record;
    for (let depth = 0; ref && depth < 10_000; depth++) {
      const record = await repo.readRecord(ref);
      for (const k of [ref.key, record.image.key, record.image.sums.key, record.index.key]) keys.add(k);
      ref = record.parent?.record;
    }
  }
  if (manifest.images) {
    keys.add(manifest.images.key);
    const index = await new ImageStore(repo).readIndexRef(manifest.images);
    for (const b of imageIndexDigests(index)) keys.add(layout.imageBlob(b.digest));
  }
  return [...keys];
}

/**
 * Object Lock at commit: retains (or extends the retention of) every object the backup needs
 * until `until`, before the manifest is written under the same retention. Retention is never
 * shortened: a base shared by several overlays keeps the latest date.
 */
export async function lockCommittedObjects(repo: Repository, o: { manifest: Manifest; until: Date }): Promise<void> {
  const keys = await objectsOfBackup(repo, o.manifest);
  for (let i = 0; i < keys.length; i += PARALLEL) {
    await Promise.all(keys.slice(i, i + PARALLEL).map(k => repo.target.retain(k, o.until)));
  }
}

/**
 * The Object Lock retention of a committed backup (its manifest's), undefined when it has none
 * or it has expired.
 */
export async function backupRetention(repo: Repository, app: string, backupId: string): Promise<Retention | undefined> {
  if (!repo.target.objectLock) return undefined;
  return repo.target.retention(layout.manifest(app, backupId));
}

/** Refuses (ObjectLockedError naming the backup and the date) to delete a backup still locked. */
export async function assertBackupUnlocked(repo: Repository, app: string, backupId: string): Promise<void> {
  const r = await backupRetention(repo, app, backupId);
  if (r) {
    throw new ObjectLockedError({
      key: layout.manifest(app, backupId),
      until: r.until,
      mode: r.mode,
      what: `backup ${backupId} of ${app}`,
    });
  }
}
