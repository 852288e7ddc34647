import { IntegrityError, ObjectLockedError } from '../errors';
import { layout, parseImageBlobKey, parseImageIndexKey } from '../layout';
import type { Repository } from '../Repository';
import { imageIndexDigests, imageIndexSchema } from '../schema/imageIndex';
import { parseJsonObject } from '../schema/parse';

export interface ImageGarbageReport {
  deletedBlobs: string[];
  freedBytes: number;
  /** Blobs still named by an index (committed, or uncommitted and younger than the grace). */
  referencedBlobs: number;
  /** Unreferenced blobs younger than the grace period, left for a later run. */
  youngBlobs: number;
  abortedUploads: string[];
  /** Unreferenced blobs under Object Lock retention until then (left for a later run). */
  locked: Array<{ key: string; until?: string }>;
}

/**
 * Removes image blobs that no image index names, across all applications. An index counts when
 * its backup is committed, or when it is uncommitted but was written within `graceMs` (a backup
 * running now rewrites its index after every image). A blob is removed only when it is itself
 * older than `graceMs` (a backup may be uploading it and not have written its index yet), and
 * only if a second reading of the indexes, just before the deletes, still finds no index naming
 * it. See the README for why this is safe without a repository-wide lock.
 */
export async function collectImageGarbage(
  repo: Repository,
  o: { graceMs?: number; now?: Date } = {},
): Promise<ImageGarbageReport> {
  const cutoff = (o.now ?? new Date()).getTime() - (o.graceMs ?? 3_600_000);
  const report: ImageGarbageReport = { deletedBlobs: [], freedBytes: 0, referencedBlobs: 0, youngBlobs: 0, abortedUploads: [], locked: [] };
  const seen = new Map<string, number>(); // index key → modified time read
  const referenced = new Set<string>();
  const readIndexes = async () => {
    for await (const obj of repo.target.list(layout.imageIndexesPrefix())) {
      const p = parseImageIndexKey(obj.key);
      if (!p || seen.get(obj.key) === obj.modified.getTime()) continue;
      const committed = await repo.isCommitted(p.app, p.backupId);
      if (!committed && obj.modified.getTime() <= cutoff) continue; // leftover of a crashed backup
      const index = parseJsonObject(imageIndexSchema, obj.key, await repo.target.get(obj.key));
      if (index.annotations['io.ferry.backup-id'] !== p.backupId) {
        throw new IntegrityError(obj.key, `names backup ${index.annotations['io.ferry.backup-id']}`);
      }
      for (const d of imageIndexDigests(index)) referenced.add(d.digest);
      seen.set(obj.key, obj.modified.getTime());
    }
  };
  await readIndexes();
  const candidates: Array<{ key: string; size: number }> = [];
  for await (const obj of repo.target.list(layout.imageBlobsPrefix())) {
    const digest = parseImageBlobKey(obj.key);
    if (!digest) continue;
    if (referenced.has(digest)) report.referencedBlobs++;
    else if (obj.modified.getTime() > cutoff) report.youngBlobs++;
    else candidates.push({ key: obj.key, size: obj.size });
  }
  if (candidates.length > 0) await readIndexes(); // indexes written while we listed
  for (const c of candidates) {
    if (referenced.has(parseImageBlobKey(c.key)!)) {
      report.referencedBlobs++;
      continue;
    }
    try {
      await repo.target.delete(c.key);
    } catch (e) {
      if (!(e instanceof ObjectLockedError)) throw e;
      report.locked.push({ key: c.key, until: e.until?.toISOString() });
      continue;
    }
    report.deletedBlobs.push(c.key);
    report.freedBytes += c.size;
  }
  for await (const u of repo.target.listIncomplete('images/')) {
    if (u.started.getTime() > cutoff) continue;
    await repo.target.removeIncomplete(u);
    report.abortedUploads.push(u.key);
  }
  return report;
}
