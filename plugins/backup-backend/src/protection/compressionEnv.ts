import type { FerryConfig } from '../config/FerryConfig';

/**
 * The datamover's `FERRY_COMPRESS` for a volume backup: the policy's `compression`, unless the
 * backup's target is encrypted (a Backup may name another target than its policy's: encryption
 * wins there, since qemu's format has no encrypted compressed clusters).
 */
export function compressionEnv(o: { config: FerryConfig; policy?: string; target: string }): Array<{ name: string; value: string }> {
  const codec = o.config.policies.find(p => p.name === o.policy)?.compression;
  const encrypted = o.config.targets.find(t => t.name === o.target)?.encryption;
  return codec && !encrypted ? [{ name: 'FERRY_COMPRESS', value: codec }] : [];
}
