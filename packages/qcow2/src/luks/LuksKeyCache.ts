import type { RangeSource } from '../io';
import { Qcow2Error, corrupt } from '../format/errors';
import type { EncryptionHeaderPointer } from '../format/header';
import { LuksKey, type Passphrase } from './LuksKey';
import { LUKS_HEADER_BYTES } from './luksHeader';

/**
 * Unlocks the LUKS headers of a chain's layers, once per distinct header: layers written with
 * the same LUKS header (an overlay that kept its base's key, see the writer's
 * `encryption.key`) share the master key, so a chain of them costs one key derivation. Two
 * headers are the same when their 592 bytes are: same salts, iterations and master key
 * digest, so a key that passed one's digest check passes the other's.
 */
export class LuksKeyCache {
  private readonly keys = new Map<string, LuksKey>();

  async open(options: {
    source: RangeSource;
    pointer: EncryptionHeaderPointer;
    passphrase?: Passphrase;
    imageName: string;
  }): Promise<LuksKey> {
    const { source, pointer, imageName } = options;
    const read = async (offset: number, length: number) => {
      if (offset + length > pointer.headerLength) {
        throw corrupt(
          `luks header area of ${imageName} is ${pointer.headerLength} bytes, too short for ${length} bytes at ${offset}`,
        );
      }
      return source.read(pointer.headerOffset + offset, length);
    };
    const id = Buffer.from(await read(0, LUKS_HEADER_BYTES)).toString('hex');
    const known = this.keys.get(id);
    if (known) return known;
    if (options.passphrase === undefined) {
      throw new Qcow2Error(
        'passphrase-missing',
        `image ${imageName} is encrypted (luks): a passphrase is needed to read it`,
      );
    }
    const key = await LuksKey.unlock({
      read,
      areaBytes: pointer.headerLength,
      passphrase: options.passphrase,
      imageName,
    });
    this.keys.set(id, key);
    return key;
  }
}
