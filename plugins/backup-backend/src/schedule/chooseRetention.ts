import type { BackupSummary } from '@ferry/plugin-backup-common';

/** A finished backup that retention may count (and delete when beyond `keepLast`). */
const RETAINED_PHASES: ReadonlyArray<BackupSummary['phase']> = ['Completed', 'PartiallyFailed'];

export interface RetentionChoice {
  /** The policy's finished scheduled backups that stay, newest first. */
  keep: BackupSummary[];
  /** The ones to delete, oldest first (the order to delete them in). */
  remove: BackupSummary[];
}

/**
 * Which of one application's backups a policy's `keepLast` removes. Counted: backups the policy's
 * schedule started (trigger `schedule` naming the policy) that ended `Completed` or
 * `PartiallyFailed`. Never counted nor removed: manual backups, backups of other policies, running
 * or failed ones. The newest `keepLast` stay; the newest `Completed` one always stays, even when
 * `keepLast` newer ones are `PartiallyFailed` (so a fully restorable backup is never lost to
 * retention). Newest by backup id, which sorts by creation time.
 */
export function chooseRetention(options: {
  backups: readonly BackupSummary[];
  policy: string;
  keepLast: number;
}): RetentionChoice {
  const counted = options.backups
    .filter(
      b =>
        b.trigger.type === 'schedule' &&
        b.trigger.policy === options.policy &&
        RETAINED_PHASES.includes(b.phase),
    )
    .sort(newestFirst);
  const newestCompleted = counted.find(b => b.phase === 'Completed');
  const keep: BackupSummary[] = [];
  const remove: BackupSummary[] = [];
  counted.forEach((backup, index) => {
    if (index < Math.max(0, options.keepLast) || backup === newestCompleted) keep.push(backup);
    else remove.push(backup);
  });
  return { keep, remove: remove.reverse() };
}

/** Backup ids sort by creation time as plain (code unit) strings. */
function newestFirst(a: BackupSummary, b: BackupSummary): number {
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}
