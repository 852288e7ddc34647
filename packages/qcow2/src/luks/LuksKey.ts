import { pbkdf2, randomBytes, randomUUID, getHashes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { Qcow2Error, invalidArgument, unsupported } from '../format/errors';
import { afMerge, afSplit } from './afSplit';
import {
  LUKS_DIGEST_BYTES,
  LUKS_HEADER_BYTES,
  LUKS_SALT_BYTES,
  LUKS_SECTOR_BYTES,
  LUKS_STRIPES,
  LuksHeader,
  decodeLuksHeader,
  encodeLuksHeader,
  keySlotLayout,
} from './luksHeader';
import { LuksCipher, SectorCipher } from './SectorCipher';

const derive = promisify(pbkdf2);

/** A passphrase: text (used as its UTF-8 bytes, as qemu's secret objects do) or raw bytes. */
export type Passphrase = string | Uint8Array;

/** PBKDF2-HMAC-SHA256 iterations of a new key slot by default (OWASP's 2023 figure). */
export const DEFAULT_LUKS_ITERATIONS = 600_000;
/** The LUKS minimum for key slots and for the master key digest. */
export const MIN_LUKS_ITERATIONS = 1000;

export interface LuksCreateOptions {
  passphrase: Passphrase;
  /** aes-256-xts-plain64 by default (qemu's default); aes-128-xts-plain64 also. */
  cipher?: LuksCipher;
  /**
   * PBKDF2-SHA256 iterations for the key slot, 600,000 by default; at least 1000. The master
   * key digest uses an eighth of it (at least 1000), as qemu and cryptsetup do. qemu instead
   * times the machine (iter-time, 2 s by default); a fixed count gives the same cost to
   * every backup and restore.
   */
  iterations?: number;
}

/** The passphrase's bytes, checked; the caller zeroes them after use. */
function passphraseBytes(passphrase: Passphrase | undefined, field: string): Buffer {
  if (typeof passphrase !== 'string' && !(passphrase instanceof Uint8Array)) {
    throw invalidArgument(`${field} must be a string or bytes`);
  }
  const bytes = Buffer.from(passphrase as Uint8Array); // copies (or encodes a string as UTF-8)
  if (bytes.length === 0) throw invalidArgument(`${field} is empty`);
  if (bytes.includes(0)) {
    bytes.fill(0);
    throw invalidArgument(
      `${field} contains a nul byte (qemu's secrets end at the first one)`,
    );
  }
  return bytes;
}

/**
 * An unlocked (or freshly made) LUKS1 key: the header, the key material of its active slots
 * and the master key, held as a cipher. What a writer stores as the image's LUKS header area
 * and what a reader decrypts sectors with.
 */
export class LuksKey {
  /** Bytes of the header area (header and the room of all eight key slots). */
  readonly areaBytes: number;

  private constructor(
    readonly header: LuksHeader,
    /** The 592 header bytes as stored. */
    readonly headerBytes: Uint8Array,
    /** Encrypted key material of each active slot, by byte offset in the area. */
    readonly material: ReadonlyArray<{ offset: number; bytes: Uint8Array }>,
    readonly cipher: SectorCipher,
  ) {
    this.areaBytes = header.payloadOffset * LUKS_SECTOR_BYTES;
  }

  /** A new random master key in a new LUKS1 header, key slot 0 opened by `passphrase`. */
  static async create(options: LuksCreateOptions): Promise<LuksKey> {
    const cipherName = options.cipher ?? 'aes-256-xts-plain64';
    if (cipherName !== 'aes-256-xts-plain64' && cipherName !== 'aes-128-xts-plain64') {
      throw invalidArgument(
        `encryption.cipher "${String(cipherName)}" must be aes-256-xts-plain64 or aes-128-xts-plain64`,
      );
    }
    const iterations = options.iterations ?? DEFAULT_LUKS_ITERATIONS;
    if (!Number.isInteger(iterations) || iterations < MIN_LUKS_ITERATIONS || iterations > 0xffff_ffff) {
      throw invalidArgument(
        `encryption.iterations ${iterations} must be an integer from ${MIN_LUKS_ITERATIONS} to 4294967295`,
      );
    }
    const password = passphraseBytes(options.passphrase, 'encryption.passphrase');
    const keyBytes = cipherName === 'aes-256-xts-plain64' ? 64 : 32;
    const hashSpec = 'sha256';
    const masterKey = randomBytes(keyBytes);
    const slotKey = Buffer.alloc(keyBytes);
    try {
      const mkDigestSalt = randomBytes(LUKS_SALT_BYTES);
      const mkDigestIterations = Math.max(MIN_LUKS_ITERATIONS, Math.floor(iterations / 8));
      const slotSalt = randomBytes(LUKS_SALT_BYTES);
      const [mkDigest, derived] = await Promise.all([
        derive(masterKey, mkDigestSalt, mkDigestIterations, LUKS_DIGEST_BYTES, hashSpec),
        derive(password, slotSalt, iterations, keyBytes, hashSpec),
      ]);
      derived.copy(slotKey);
      derived.fill(0);
      const layout = keySlotLayout(keyBytes, LUKS_STRIPES);
      const header: LuksHeader = {
        cipherName: 'aes',
        cipherMode: 'xts-plain64',
        hashSpec,
        payloadOffset: layout.payloadOffset,
        keyBytes,
        mkDigest,
        mkDigestSalt,
        mkDigestIterations,
        uuid: randomUUID(),
        slots: layout.slotOffsets.map((keyMaterialOffset, i) => ({
          active: i === 0,
          iterations: i === 0 ? iterations : 0,
          salt: i === 0 ? slotSalt : new Uint8Array(LUKS_SALT_BYTES),
          keyMaterialOffset,
          stripes: LUKS_STRIPES,
        })),
      };
      const split = afSplit(masterKey, LUKS_STRIPES, hashSpec);
      const slotCipher = new SectorCipher({ cipherName: 'aes', cipherMode: 'xts-plain64', key: slotKey, what: 'a new luks key slot' });
      const material = padToSectors(split);
      split.fill(0);
      slotCipher.encrypt(material, 0);
      const cipher = new SectorCipher({ cipherName: 'aes', cipherMode: 'xts-plain64', key: masterKey, what: 'a new luks key' });
      return new LuksKey(header, encodeLuksHeader(header), [
        { offset: layout.slotOffsets[0] * LUKS_SECTOR_BYTES, bytes: material },
      ], cipher);
    } finally {
      password.fill(0);
      masterKey.fill(0);
      slotKey.fill(0);
    }
  }

  /**
   * Opens the LUKS header area of an image with `passphrase`, trying each active key slot as
   * qemu does. A passphrase that opens none is a `passphrase-wrong` error.
   */
  static async unlock(options: {
    /** Reads bytes of the header area (offsets from its start). */
    read: (offset: number, length: number) => Promise<Uint8Array>;
    areaBytes: number;
    passphrase: Passphrase;
    imageName: string;
  }): Promise<LuksKey> {
    const { imageName } = options;
    // Copies (a Buffer's slice() is a view, not a copy).
    const headerBytes = new Uint8Array(await options.read(0, LUKS_HEADER_BYTES));
    const header = decodeLuksHeader({ bytes: headerBytes, areaBytes: options.areaBytes, imageName });
    if (!getHashes().includes(header.hashSpec)) {
      throw unsupported(`luks hash ${header.hashSpec} of ${imageName} is not supported`);
    }
    // Checks the cipher before any key derivation (an unsupported one fails at once).
    SectorCipher.checkSupported({ cipherName: header.cipherName, cipherMode: header.cipherMode, what: imageName });
    const password = passphraseBytes(options.passphrase, `passphrase for ${imageName}`);
    const material: Array<{ offset: number; bytes: Uint8Array }> = [];
    try {
      let found: Buffer | undefined;
      for (const slot of header.slots) {
        if (!slot.active) continue;
        const offset = slot.keyMaterialOffset * LUKS_SECTOR_BYTES;
        const length = header.keyBytes * slot.stripes;
        const stored = await options.read(offset, roundToSectors(length));
        material.push({ offset, bytes: new Uint8Array(stored) });
        if (found) continue;
        const slotKey = await derive(password, slot.salt, slot.iterations, header.keyBytes, header.hashSpec);
        const split = Buffer.from(stored); // a copy: `stored` stays ciphertext
        new SectorCipher({ cipherName: header.cipherName, cipherMode: header.cipherMode, key: slotKey, what: imageName }).decrypt(split, 0);
        slotKey.fill(0);
        const candidate = afMerge(split.subarray(0, length), header.keyBytes, slot.stripes, header.hashSpec);
        split.fill(0);
        const digest = await derive(candidate, header.mkDigestSalt, header.mkDigestIterations, LUKS_DIGEST_BYTES, header.hashSpec);
        if (timingSafeEqual(digest, header.mkDigest)) found = candidate;
        else candidate.fill(0);
      }
      if (!found) {
        const active = header.slots.filter(s => s.active).length;
        throw new Qcow2Error(
          'passphrase-wrong',
          `the passphrase opens none of the ${active} active luks key slot(s) of ${imageName}`,
        );
      }
      const cipher = new SectorCipher({ cipherName: header.cipherName, cipherMode: header.cipherMode, key: found, what: imageName });
      found.fill(0);
      return new LuksKey(header, headerBytes, material, cipher);
    } finally {
      password.fill(0);
    }
  }

  /** True when this key was unlocked from (or written as) exactly these header bytes. */
  sameHeader(headerBytes: Uint8Array): boolean {
    return Buffer.compare(Buffer.from(headerBytes), Buffer.from(this.headerBytes)) === 0;
  }
}

function roundToSectors(bytes: number): number {
  return Math.ceil(bytes / LUKS_SECTOR_BYTES) * LUKS_SECTOR_BYTES;
}

function padToSectors(bytes: Buffer): Buffer {
  const padded = Buffer.alloc(roundToSectors(bytes.length));
  bytes.copy(padded);
  return padded;
}
