import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Keyring, RepositoryKey, type Repository } from '@ferry/repository';
import { DatamoverError } from '../errors';

/** Flags of an encrypted target; each has a `FERRY_*` environment twin (flags win). */
export const ENCRYPTION_FLAGS = {
  'encryption-key-dir': { type: 'string' },
  'encryption-key': { type: 'string' },
  'encryption-key-source': { type: 'string' },
  'read-unencrypted': { type: 'boolean' },
} as const;

export const ENCRYPTION_USAGE = `Encrypted target (flag or environment):
  --encryption-key-dir DIR     FERRY_ENCRYPTION_KEY_DIR     mounted Secret: one file per key (older keys kept for reading)
  --encryption-key NAME        FERRY_ENCRYPTION_KEY         the file to encrypt new objects with (default "key")
  --encryption-key-source TEXT FERRY_ENCRYPTION_KEY_SOURCE  where the keys come from, for errors (e.g. "Secret ferry-system/backup-key")
  --read-unencrypted           FERRY_READ_UNENCRYPTED=true  also read objects stored before encryption was turned on`;

/**
 * The repository's keyring from a mounted Secret: every regular file of `dir` is a key (its
 * bytes as they are: the LUKS passphrase and the envelope's input key), named by its file name;
 * Kubernetes' own `..data` links and hidden entries are skipped. Undefined without `dir`.
 */
export async function readKeyring(o: { dir?: string; current?: string; source?: string }): Promise<Keyring | undefined> {
  if (!o.dir) return undefined;
  const source = o.source ?? `--encryption-key-dir ${o.dir}`;
  let names: string[];
  try {
    names = (await fs.readdir(o.dir)).filter(n => !n.startsWith('.')).sort();
  } catch (e) {
    throw new DatamoverError('CREDENTIALS_INVALID', `cannot read the encryption keys in ${o.dir} (${(e as NodeJS.ErrnoException).code})`, { cause: e });
  }
  const keys: RepositoryKey[] = [];
  for (const name of names) {
    const file = path.join(o.dir, name);
    if (!(await fs.stat(file)).isFile()) continue;
    try {
      keys.push(RepositoryKey.from({ name, bytes: await fs.readFile(file) }));
    } catch (e) {
      throw new DatamoverError('USAGE', `${source}: ${(e as Error).message}`, { cause: e });
    }
  }
  try {
    return new Keyring({ keys, current: o.current ?? 'key', source });
  } catch (e) {
    throw new DatamoverError('USAGE', (e as Error).message, { cause: e });
  }
}

/**
 * The LUKS passphrase of a backup's volume chain: the bytes of the key its record names (a
 * chain keeps one LUKS key). Undefined for an image in the clear.
 */
export async function chainPassphrase(o: {
  repo: Repository;
  app: string;
  pvc: string;
  backupId: string;
}): Promise<Uint8Array | undefined> {
  const keys = o.repo.keys;
  if (!keys) return undefined;
  const layer = await o.repo.readVolumeOf(o.app, o.pvc, o.backupId);
  const keyId = layer.record.protection?.encryption?.keyId;
  if (!keyId) return undefined;
  const key = keys.byId(keyId);
  if (!key) {
    throw new DatamoverError(
      'CREDENTIALS_INVALID',
      `volume ${o.pvc} of backup ${o.backupId} is encrypted with key id ${keyId}, which ${keys.source} does not hold (it holds ${keys.ids().join(', ')})`,
      { hint: 'put the key that was used back into the Secret, under any data key name' },
    );
  }
  return key.secret;
}
