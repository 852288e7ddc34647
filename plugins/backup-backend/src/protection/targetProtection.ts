import type { TargetProtection } from '@ferry/plugin-backup-common';
import type { TargetRegistry } from '../targets/TargetRegistry';

/**
 * How a target protects what it stores, for the platform page: where its key Secret is and the
 * id of its current key (or why it cannot be read), and its Object Lock. Never a key.
 */
export async function targetProtection(targets: TargetRegistry, name: string): Promise<TargetProtection | undefined> {
  const config = targets.config(name);
  const ref = targets.keys?.secretOf(name);
  let encryption: TargetProtection['encryption'];
  if (ref) {
    const secret = `${ref.namespace}/${ref.name} (data key ${ref.key}, cluster ${ref.cluster})`;
    try {
      encryption = { secret, keyId: (await targets.keys!.keyring(name))?.current.id };
    } catch (error) {
      encryption = { secret, problem: (error as Error).message };
    }
  }
  const objectLock = config.type === 's3' ? config.objectLock : undefined;
  if (!encryption && !objectLock) return undefined;
  return { ...(encryption ? { encryption } : {}), ...(objectLock ? { objectLock } : {}) };
}
