import type { BackupProtection } from '@ferry/plugin-backup-common';
import type { Manifest } from '@ferry/repository';

/** What a committed backup's manifest says of its protection, for its status and the API. */
export function protectionOfManifest(manifest: Manifest): BackupProtection | undefined {
  const encryption = manifest.protection?.encryption;
  const lock = manifest.protection?.lock;
  const compression = manifest.volumes.map(v => v.protection?.compression).find(Boolean);
  const protection: BackupProtection = {
    ...(encryption ? { encryption: { keyId: encryption.keyId } } : {}),
    ...(compression ? { compression } : {}),
    ...(lock ? { lock: { mode: lock.mode === 'COMPLIANCE' ? 'compliance' : 'governance', until: lock.retainUntil } } : {}),
  };
  return Object.keys(protection).length ? protection : undefined;
}

/** Why a backup cannot be deleted yet (its Object Lock), or undefined. */
export function lockedReason(protection: BackupProtection | undefined, now = Date.now()): string | undefined {
  const lock = protection?.lock;
  if (!lock || Date.parse(lock.until) <= now) return undefined;
  return `it is locked (object lock, ${lock.mode} mode) until ${lock.until}`;
}
