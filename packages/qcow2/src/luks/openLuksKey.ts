import type { RangeSource } from '../io';
import { Qcow2Image } from '../reader/Qcow2Image';
import type { LuksKey, Passphrase } from './LuksKey';

/**
 * The unlocked LUKS key of an image (undefined when it is not encrypted), for a writer that
 * makes an overlay of it without opening its chain (`encryption: { format: 'luks', key }`):
 * the overlay then carries the same LUKS header and master key. A wrong passphrase is a
 * `passphrase-wrong` error, none for an encrypted image `passphrase-missing`.
 */
export async function openLuksKey(options: {
  source: RangeSource;
  name: string;
  passphrase?: Passphrase;
}): Promise<LuksKey | undefined> {
  const image = await Qcow2Image.open({ ...options, l2CacheBytes: 0 });
  return image.luksKey;
}
