import { ObjectLockedError } from '../errors';
import { layout, parseBackupKey, parseImageIndexKey, parseVolumeKey } from '../layout';
import type { Repository } from '../Repository';

/**
 * Images needed by the chains of `backupIds`: key `<pvc>/<imageBackupId>` → the backups whose
 * restore reads it.
 */
export async function neededImages(
  repo: Repository,
  app: string,
  backupIds: string[],
): Promise<Map<string, Set<string>>> {
  const needed = new Map<string, Set<string>>();
  for (const id of backupIds) {
    const m = await repo.readManifest(app, id);
    for (const v of m.volumes) {
      const chain = await repo.resolveChain({ app, pvc: v.pvc, backupId: id });
      for (const layer of chain) {
        const k = `${v.pvc}/${layer.backupId}`;
        if (!needed.has(k)) needed.set(k, new Set());
        needed.get(k)!.add(id);
      }
    }
  }
  return needed;
}

/** Removes images kept (`.keep`) for deleted backups that no remaining chain needs any more. */
export async function pruneUnneeded(repo: Repository, app: string): Promise<string[]> {
  const keeps: Array<{ pvc: string; backupId: string }> = [];
  for await (const o of repo.target.list(layout.volumesPrefix(app))) {
    const p = parseVolumeKey(o.key);
    if (p?.ext === 'keep') keeps.push(p);
  }
  if (keeps.length === 0) return [];
  const needed = await neededImages(repo, app, await repo.listBackups(app));
  const deleted: string[] = [];
  for (const k of keeps) {
    if (needed.has(`${k.pvc}/${k.backupId}`)) continue;
    // still under Object Lock (a later overlay extended it): removed by a later run
    if (await repo.target.retention(layout.image(app, k.pvc, k.backupId))) continue;
    for (const key of [
      layout.image(app, k.pvc, k.backupId),
      layout.sums(app, k.pvc, k.backupId),
      layout.index(app, k.pvc, k.backupId),
      layout.record(app, k.pvc, k.backupId),
      layout.keep(app, k.pvc, k.backupId), // marker last: a crash before it retries the rest
    ]) {
      await repo.target.delete(key);
      deleted.push(key);
    }
  }
  return deleted;
}

export interface GarbageReport {
  deletedKeys: string[];
  abortedUploads: string[];
  /** Objects that would go but are under Object Lock retention until then (left for a later run). */
  locked: Array<{ key: string; until?: string }>;
}

/** Deletes `key`, or records why it cannot go yet (Object Lock). */
export async function deleteUnlessLocked(repo: Repository, key: string, report: { deletedKeys: string[]; locked: GarbageReport['locked'] }) {
  try {
    await repo.target.delete(key);
    report.deletedKeys.push(key);
  } catch (e) {
    if (!(e instanceof ObjectLockedError)) throw e;
    report.locked.push({ key, until: e.until?.toISOString() });
  }
}

/**
 * Removes what interrupted runs left behind: objects of uncommitted backups, images no
 * committed chain needs, temp files and unfinished multipart uploads, all older than `graceMs`
 * (default 1 hour: a backup still running elsewhere is not touched). Call it holding the
 * application's lock, or with a grace period longer than any backup can take.
 */
export async function collectGarbage(
  repo: Repository,
  o: { app: string; graceMs?: number; now?: Date },
): Promise<GarbageReport> {
  const cutoff = (o.now ?? new Date()).getTime() - (o.graceMs ?? 3_600_000);
  const committed = new Set(await repo.listBackups(o.app));
  const needed = await neededImages(repo, o.app, [...committed]);
  const report: GarbageReport = { deletedKeys: [], abortedUploads: [], locked: [] };
  const doomed: string[] = [];
  for await (const obj of repo.target.list(layout.appPrefix(o.app))) {
    if (obj.modified.getTime() > cutoff) continue;
    const b = parseBackupKey(obj.key);
    if (b && !committed.has(b.backupId)) doomed.push(obj.key);
    const v = parseVolumeKey(obj.key);
    if (v && !committed.has(v.backupId) && !needed.has(`${v.pvc}/${v.backupId}`)) {
      doomed.push(obj.key);
    }
  }
  // keep markers last, so an interrupted collection still knows what it was doing
  doomed.sort((a, b) => Number(a.endsWith('.keep')) - Number(b.endsWith('.keep')));
  for (const key of doomed) await deleteUnlessLocked(repo, key, report);
  // image indexes of this app's backups that never committed (their blobs: collectImageGarbage)
  for await (const obj of repo.target.list(layout.imageIndexPrefix(o.app))) {
    const p = parseImageIndexKey(obj.key);
    if (!p || committed.has(p.backupId) || obj.modified.getTime() > cutoff) continue;
    await deleteUnlessLocked(repo, obj.key, report);
  }
  for await (const u of repo.target.listIncomplete(layout.appPrefix(o.app))) {
    if (u.started.getTime() > cutoff) continue;
    await repo.target.removeIncomplete(u);
    report.abortedUploads.push(u.key);
  }
  return report;
}
