import { hkdfSync } from 'node:crypto';
import { InvalidInputError } from '../errors';

/** Shortest key accepted: the envelope derives keys with HKDF, which needs a high-entropy input. */
export const MIN_KEY_BYTES = 32;
const KEY_ID_SALT = Buffer.from('ferry.io key id v1', 'ascii');
const KEY_ID_BYTES = 8;

/**
 * One repository key: the bytes of a Secret's data key, used as they are. They are the LUKS
 * passphrase of the volume images (so `qemu-img --object secret,file=<those bytes>` opens them)
 * and the input keying material of the envelope (HKDF-SHA256). The key id is a keyed hash of
 * the key (HKDF with a fixed label, 8 bytes, 16 hex digits): it names the key in the repository
 * and in messages without revealing it.
 */
export class RepositoryKey {
  readonly id: string;

  private constructor(
    /** The Secret's data key it came from (e.g. `key`, `key-2026`), for messages. */
    readonly name: string,
    readonly secret: Buffer,
  ) {
    this.id = keyIdOf(secret);
  }

  /** Checks and copies the key bytes (at least 32 bytes, no nul byte: qemu's secrets end there). */
  static from(o: { name: string; bytes: Uint8Array | string }): RepositoryKey {
    const bytes = Buffer.from(typeof o.bytes === 'string' ? Buffer.from(o.bytes, 'utf8') : o.bytes);
    if (bytes.length < MIN_KEY_BYTES) {
      throw new InvalidInputError(
        `encryption key "${o.name}" has ${bytes.length} bytes; at least ${MIN_KEY_BYTES} are needed (e.g. head -c 32 /dev/urandom | base64)`,
      );
    }
    if (bytes.includes(0)) {
      throw new InvalidInputError(`encryption key "${o.name}" contains a nul byte (qemu's secrets end at the first one)`);
    }
    return new RepositoryKey(o.name, bytes);
  }
}

/** `hex(HKDF-SHA256(ikm = key, salt = "ferry.io key id v1", info = "", 8 bytes))`. */
export function keyIdOf(secret: Uint8Array): string {
  return Buffer.from(hkdfSync('sha256', secret, KEY_ID_SALT, Buffer.alloc(0), KEY_ID_BYTES)).toString('hex');
}

/** What the envelope needs to open objects: keys by id, and words for errors. */
export interface KeyLookup {
  byId(id: string): RepositoryKey | undefined;
  /** Where the keys come from, for errors (e.g. `Secret ferry-system/backup-key`). Never a key. */
  readonly source: string;
  /** Ids of every key held (for errors). */
  ids(): string[];
}

/**
 * The keys of a repository: the current one (new objects are written with it) and older ones
 * kept so that backups written before a rotation stay readable. Usually the data keys of one
 * Kubernetes Secret; `current` names the one to write with.
 */
export class Keyring implements KeyLookup {
  private readonly keys = new Map<string, RepositoryKey>();
  readonly current: RepositoryKey;
  readonly source: string;

  constructor(o: { keys: RepositoryKey[]; current: string; source: string }) {
    for (const k of o.keys) if (!this.keys.has(k.id)) this.keys.set(k.id, k);
    const current = o.keys.find(k => k.name === o.current);
    if (!current) {
      throw new InvalidInputError(
        `${o.source} has no data key "${o.current}" to encrypt with (it has ${o.keys.map(k => `"${k.name}"`).join(', ') || 'none'})`,
      );
    }
    this.current = current;
    this.source = o.source;
  }

  /** Every data key of a Secret (`data`, bytes) as a keyring; `current` names the one to write with. */
  static fromData(o: { data: Record<string, Uint8Array | string>; current: string; source: string }): Keyring {
    const keys = Object.entries(o.data).map(([name, bytes]) => {
      try {
        return RepositoryKey.from({ name, bytes });
      } catch (e) {
        throw new InvalidInputError(`${o.source}: ${(e as Error).message}`);
      }
    });
    return new Keyring({ keys, current: o.current, source: o.source });
  }

  byId(id: string): RepositoryKey | undefined {
    return this.keys.get(id);
  }

  ids(): string[] {
    return [...this.keys.keys()];
  }

  /** Every key (the current one first), e.g. to hand them to a datamover Job as files. */
  list(): RepositoryKey[] {
    return [this.current, ...[...this.keys.values()].filter(k => k !== this.current)];
  }
}
