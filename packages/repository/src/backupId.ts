import { randomBytes } from 'node:crypto';

/**
 * Backup ids sort by time as plain strings: `YYYYMMDDTHHMMSSmmmZ-<6 hex>`, e.g.
 * `20261125T141406123Z-3fa9c1` (UTC, millisecond precision, random suffix for uniqueness).
 */
export const BACKUP_ID_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;

export function newBackupId(at: Date = new Date()): string {
  const iso = at.toISOString(); // 2026-11-25T14:14:06.123Z
  const stamp = iso.replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The time a backup id was minted. */
export function backupIdTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  if (!m) throw new Error(`backup id "${id}" does not start with a timestamp`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]));
}
