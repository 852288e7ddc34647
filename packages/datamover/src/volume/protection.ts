import {
  openLuksKey,
  type CompressionOptions,
  type EncryptionOptions,
} from '@ferry/qcow2';
import { keyIdOf, type ChainLayer, type Repository, type VolumeRecord } from '@ferry/repository';
import { DatamoverError } from '../errors';

/** Compression and encryption of a volume's image (packages/qcow2: qemu's formats). */
export interface VolumeProtection {
  /** Compressed clusters (deflate or zstd). Not with a passphrase (qemu refuses the mix too). */
  compression?: CompressionOptions;
  /** LUKS encryption of the image, opened by this passphrase (bytes, from a file; never logged). */
  passphrase?: Uint8Array;
}

/**
 * The writer's encryption for a new image: none without a passphrase (refused when the parent
 * is encrypted: an overlay would store its data in the clear); over an encrypted parent, the
 * parent's LUKS header and master key (so one key derivation opens the whole chain); else a
 * new key.
 */
export async function encryptionFor(o: {
  repo: Repository;
  parent?: ChainLayer;
  passphrase?: Uint8Array;
}): Promise<EncryptionOptions | undefined> {
  let parentKey;
  if (o.parent) {
    const source = await o.repo.openImage(o.parent);
    // the parent's own key when the repository's keyring holds it (a chain keeps its LUKS key)
    const keyId = o.parent.record.protection?.encryption?.keyId;
    const passphrase = (keyId && o.repo.keys?.byId(keyId)?.secret) || o.passphrase;
    try {
      parentKey = await openLuksKey({ source, name: o.parent.record.image.key, passphrase });
    } catch (e) {
      throw protectionError(e);
    } finally {
      await source.close();
    }
  }
  if (parentKey) return { format: 'luks', key: parentKey };
  return o.passphrase ? { format: 'luks', passphrase: o.passphrase } : undefined;
}

/**
 * What the volume record says of its image: the codec, or LUKS with the id of the key whose
 * bytes are the passphrase (the parent's, when the image keeps its parent's LUKS key).
 */
export function recordProtection(o: {
  repo: Repository;
  compression?: CompressionOptions;
  encryption?: EncryptionOptions;
  parent?: ChainLayer;
  passphrase?: Uint8Array;
}): VolumeRecord['protection'] {
  if (o.encryption) {
    const keyId =
      o.parent?.record.protection?.encryption?.keyId ??
      (o.passphrase ? keyIdOf(o.passphrase) : o.repo.keys?.current.id);
    return keyId ? { encryption: { format: 'luks', keyId } } : undefined;
  }
  return o.compression ? { compression: o.compression.type } : undefined;
}

/** Qcow2's passphrase and option errors as the datamover's (other errors pass unchanged). */
export function protectionError(e: unknown): unknown {
  const q = e as { name?: string; kind?: string; message?: string } | undefined;
  if (q?.name !== 'Qcow2Error') return e;
  if (q.kind === 'passphrase-missing' || q.kind === 'passphrase-wrong') {
    return new DatamoverError('CREDENTIALS_INVALID', q.message!, {
      cause: e,
      hint: 'give the passphrase of the encrypted backup (--passphrase-file or FERRY_PASSPHRASE_FILE)',
    });
  }
  if (q.kind === 'invalid-argument') return new DatamoverError('USAGE', q.message!, { cause: e });
  return e;
}
