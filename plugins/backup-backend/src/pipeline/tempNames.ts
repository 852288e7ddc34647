import { createHash } from 'node:crypto';

/**
 * Deterministic names of the temporary objects of one operation (DESIGN §3), so that a resumed
 * step finds what a crashed one created. At most 63 characters (Job names become labels).
 */
export function tempName(options: { operationId: string; role: string; pvc: string }): string {
  const op = shortHash(options.operationId, 8);
  const prefix = `ferry-${op}-${options.role}-`;
  const room = 63 - prefix.length;
  const pvc = options.pvc.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const part = pvc.length <= room ? pvc : `${pvc.slice(0, room - 9)}-${shortHash(pvc, 8)}`;
  return `${prefix}${part}`.replace(/-+$/, '');
}

function shortHash(value: string, length: number): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}
