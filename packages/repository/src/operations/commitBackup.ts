import { AlreadyExistsError, InvalidInputError, IntegrityError } from '../errors';
import { checkImagesForCommit } from '../images/checkImagesForCommit';
import { layout } from '../layout';
import type { Repository } from '../Repository';
import { manifestSchema, MANIFEST_VERSION, type Manifest, type ManifestVolume } from '../schema/manifest';
import type { ObjectRef } from '../schema/objectRef';
import { checkObject, digestOf } from '../digest/sha256';
import type { AppLock } from './AppLock';
import { lockCommittedObjects } from './lockBackup';

export interface CommitBackupOptions {
  app: string;
  backupId: string;
  lock: AppLock;
  /** Records from the datamover results; absent: every record staged for this id. */
  volumes?: Array<{ pvc: string; record: ObjectRef }>;
  /** Objects of the backup stored elsewhere, checked here. */
  extraObjects?: ObjectRef[];
  /**
   * The backup's image index (`images/index/<app>/<id>.json`, from `image backup`): its digest,
   * schema and every blob it names are checked, and the manifest records it as `images`.
   */
  images?: ObjectRef;
  metadata?: Record<string, unknown>;
  createdAt?: string;
}

/**
 * Commits a backup: gathers the volume records staged under `apps/<app>/volumes/*` for this
 * id, digests every other object under the backup's folder, checks parents, and writes the
 * manifest last (the commit point: DESIGN.md §5). Requires the application's lock, checked
 * before anything is read and again just before the manifest is written.
 */
export async function commitBackup(repo: Repository, o: CommitBackupOptions): Promise<Manifest> {
  if (o.lock.app !== o.app) throw new InvalidInputError(`lock is for ${o.lock.app}, not ${o.app}`);
  await o.lock.check();
  await repo.assertNotCommitted(o.app, o.backupId);
  const volumes: ManifestVolume[] = [];
  for (const v of o.volumes ?? (await repo.stagedVolumes(o.app, o.backupId))) {
    const record = await repo.readRecord(v.record);
    if (record.app !== o.app || record.backupId !== o.backupId || record.pvc !== v.pvc) {
      throw new InvalidInputError(`volume record ${v.record.key} is not ${o.app}/${v.pvc}/${o.backupId}`);
    }
    const img = await repo.target.head(record.image.key);
    if (!img || img.size !== record.image.size) {
      throw new IntegrityError(record.image.key, `missing or not ${record.image.size} bytes`);
    }
    if (record.parent) {
      // the parent must still exist (committed or kept) and be the one recorded
      const parent = await repo.readVolumeOf(o.app, v.pvc, record.parent.backupId);
      if (parent.recordRef.digest !== record.parent.record.digest) {
        throw new IntegrityError(v.record.key, `parent ${record.parent.backupId} changed since the backup was taken`);
      }
    }
    volumes.push({
      pvc: v.pvc,
      kind: record.kind,
      parentBackupId: record.parent?.backupId ?? null,
      virtualSize: record.virtualSize,
      storedBytes: record.image.size,
      record: v.record,
      ...(record.protection ? { protection: record.protection } : {}),
    });
    if (repo.keys && record.protection?.encryption?.keyId && !repo.keys.byId(record.protection.encryption.keyId)) {
      throw new InvalidInputError(`volume record ${v.record.key} names LUKS key id ${record.protection.encryption.keyId}, which ${repo.keys.source} does not hold`);
    }
  }
  const objects: ObjectRef[] = [];
  const prefix = layout.backupPrefix(o.app, o.backupId);
  for await (const obj of repo.target.list(prefix)) {
    if (obj.key === layout.manifest(o.app, o.backupId)) continue;
    const data = await repo.target.get(obj.key);
    objects.push({ key: obj.key, size: data.length, digest: digestOf(data) });
  }
  for (const ref of o.extraObjects ?? []) {
    checkObject(ref, await repo.target.get(ref.key));
    objects.push(ref);
  }
  if (o.images) await checkImagesForCommit(repo, o.images, o.app, o.backupId);
  const lock = repo.target.objectLock;
  const retainUntil = lock ? new Date(Date.now() + lock.days * 86_400_000) : undefined;
  const protection: Manifest['protection'] = {
    ...(repo.keys ? { encryption: { keyId: repo.keys.current.id, envelope: 1 as const } } : {}),
    ...(lock && retainUntil ? { lock: { mode: lock.mode, retainUntil: retainUntil.toISOString() } } : {}),
  };
  const manifest: Manifest = {
    formatVersion: MANIFEST_VERSION,
    kind: 'ferry.backup',
    app: o.app,
    backupId: o.backupId,
    createdAt: o.createdAt ?? new Date().toISOString(),
    committedAt: new Date().toISOString(),
    volumes,
    objects,
    ...(o.images ? { images: o.images } : {}),
    ...(Object.keys(protection).length ? { protection } : {}),
    metadata: o.metadata ?? {},
  };
  manifestSchema.parse(manifest);
  if (retainUntil) {
    // every object the backup reads (its own, its volumes' chains down to the base, its image
    // blobs) is retained at least as long as the backup, before the backup exists
    await lockCommittedObjects(repo, { manifest, until: retainUntil });
  }
  await o.lock.check();
  const written = await repo.target.putIfAbsent(
    layout.manifest(o.app, o.backupId),
    JSON.stringify(manifest, null, 2),
    { retainUntil },
  );
  if (!written) throw new AlreadyExistsError(`backup ${o.backupId} of ${o.app} was committed concurrently`);
  return manifest;
}
