import type { OperationTrigger } from '@ferry/plugin-backup-common';

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; undefined → "—". */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Duration between two ISO timestamps: "42 s", "3 min 5 s", "1 h 2 min"; "—" while running. */
export function formatDuration(startIso: string, endIso: string | undefined): string {
  if (!endIso) return '—';
  const seconds = Math.max(0, Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatTrigger(trigger: OperationTrigger): string {
  switch (trigger.type) {
    case 'user':
      return trigger.userEntityRef.replace(/^user:(default\/)?/, '');
    case 'schedule':
      return `schedule (${trigger.policy})`;
    case 'kubernetes':
      return 'kubectl / GitOps';
    default:
      return 'unknown';
  }
}

/** "3 h ago", "in 5 min", "2 days ago", "just now", relative to `now` (ms since the epoch). */
export function formatRelative(iso: string, now: number = Date.now()): string {
  const diff = Date.parse(iso) - now;
  const seconds = Math.round(Math.abs(diff) / 1000);
  if (seconds < 60) return 'just now';
  let amount: string;
  if (seconds < 3600) amount = `${Math.floor(seconds / 60)} min`;
  else if (seconds < 48 * 3600) amount = `${Math.floor(seconds / 3600)} h`;
  else amount = `${Math.floor(seconds / 86400)} days`;
  return diff < 0 ? `${amount} ago` : `in ${amount}`;
}

/** "sha256:0123456789ab…" → "sha256:0123456789ab": the algorithm and 12 hex digits, as `docker images` shows. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  const algorithm = colon >= 0 ? digest.slice(0, colon + 1) : '';
  return `${algorithm}${digest.slice(colon + 1, colon + 13)}`;
}
