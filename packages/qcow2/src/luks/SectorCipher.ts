import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
} from 'node:crypto';
import { invalidArgument, unsupported } from '../format/errors';
import { LUKS_SECTOR_BYTES } from './luksHeader';

/** The LUKS ciphers this package reads and writes: AES in XTS mode, plain64 (or plain) IVs. */
export type LuksCipher = 'aes-256-xts-plain64' | 'aes-128-xts-plain64';

const TWO_POW_32 = 0x1_0000_0000;

/**
 * Encrypts and decrypts 512-byte sectors the way qemu's LUKS block layer does: each sector
 * on its own, with the IV made from its sector number (plain64: the number as a 64-bit
 * little-endian integer, zero padded to 16 bytes; plain: its low 32 bits). In a QCOW2 image
 * the sector number is the *host* sector (file offset / 512) of the data, as the QCOW2
 * specification says ("with the physical disk sector as the input tweak"); for key material
 * it counts from the start of the material.
 *
 * AES-XTS comes from node:crypto (OpenSSL); a new cipher object per sector is what node:crypto
 * allows (it cannot reset the IV of an existing one), about 2 µs each here.
 */
export class SectorCipher {
  private readonly key: KeyObject;
  private readonly algorithm: 'aes-128-xts' | 'aes-256-xts';
  private readonly plain64: boolean;
  private readonly iv = Buffer.alloc(16);

  /**
   * Throws an `unsupported` error unless the cipher (a LUKS header's cipher name and mode) is
   * one this class handles; lets a caller refuse an image before any key derivation.
   */
  static checkSupported(options: { cipherName: string; cipherMode: string; what: string }): void {
    const { cipherName, cipherMode, what } = options;
    if (cipherName !== 'aes' || (cipherMode !== 'xts-plain64' && cipherMode !== 'xts-plain')) {
      throw unsupported(
        `luks cipher ${cipherName}-${cipherMode} of ${what} is not supported (aes-xts-plain64 and aes-xts-plain are)`,
      );
    }
  }

  constructor(options: {
    cipherName: string;
    cipherMode: string;
    key: Uint8Array;
    /** Names the image in errors. */
    what: string;
  }) {
    const { cipherMode, key, what } = options;
    SectorCipher.checkSupported(options);
    if (key.length !== 32 && key.length !== 64) {
      throw unsupported(
        `luks key of ${key.length} bytes of ${what} is not supported (aes-xts takes 32 or 64)`,
      );
    }
    this.algorithm = key.length === 64 ? 'aes-256-xts' : 'aes-128-xts';
    this.plain64 = cipherMode === 'xts-plain64';
    this.key = createSecretKey(key);
  }

  /** Encrypts whole sectors of `data` into `out` (may be `data`); `firstSector` numbers the first. */
  encrypt(data: Uint8Array, firstSector: number, out: Uint8Array = data): void {
    this.run(true, data, firstSector, out);
  }

  decrypt(data: Uint8Array, firstSector: number, out: Uint8Array = data): void {
    this.run(false, data, firstSector, out);
  }

  private run(
    encrypt: boolean,
    data: Uint8Array,
    firstSector: number,
    out: Uint8Array,
  ): void {
    if (data.length % LUKS_SECTOR_BYTES !== 0 || out.length < data.length) {
      throw invalidArgument(
        `luks data of ${data.length} bytes is not whole ${LUKS_SECTOR_BYTES}-byte sectors`,
      );
    }
    const { iv } = this;
    for (let at = 0, sector = firstSector; at < data.length; at += LUKS_SECTOR_BYTES, sector++) {
      iv.writeUInt32LE(sector % TWO_POW_32, 0);
      iv.writeUInt32LE(this.plain64 ? Math.floor(sector / TWO_POW_32) : 0, 4);
      const cipher = encrypt
        ? createCipheriv(this.algorithm, this.key, iv)
        : createDecipheriv(this.algorithm, this.key, iv);
      const result = cipher.update(data.subarray(at, at + LUKS_SECTOR_BYTES));
      out.set(result, at);
    }
  }
}
