import { readU16, readU32, writeU16, writeU32 } from '../codec/bigEndian';
import { corrupt, unsupported } from '../format/errors';

/*
 * The LUKS1 partition header (cryptsetup docs/on-disk-format.pdf, version 1.2.x; qemu's
 * crypto/block-luks.c implements the same), 592 bytes, big-endian:
 *   0 magic "LUKS\xba\xbe" · 6 version (u16, 1) · 8 cipher-name[32] · 40 cipher-mode[32] ·
 *   72 hash-spec[32] · 104 payload-offset (u32, sectors) · 108 key-bytes (u32) ·
 *   112 mk-digest[20] · 132 mk-digest-salt[32] · 164 mk-digest-iter (u32) · 168 uuid[40] ·
 *   208 eight key slots of 48 bytes: active (u32) · iterations (u32) · salt[32] ·
 *   key-material-offset (u32, sectors) · stripes (u32).
 * In a QCOW2 image the header sits at the offset the full disk encryption header extension
 * gives; key material offsets count from the start of this header, not of the file.
 */

export const LUKS_HEADER_BYTES = 592;
export const LUKS_SECTOR_BYTES = 512;
export const LUKS_DIGEST_BYTES = 20;
export const LUKS_SALT_BYTES = 32;
export const LUKS_KEY_SLOTS = 8;
export const LUKS_STRIPES = 4000;
/** Key slot active / inactive markers. */
export const SLOT_ENABLED = 0x00ac71f3;
export const SLOT_DISABLED = 0x0000dead;
/** Key material is aligned to 4 KiB (8 sectors), as cryptsetup and qemu lay it out. */
export const KEY_MATERIAL_ALIGN_SECTORS = 8;
/** Bound on stripes × key bytes read for one key slot (qemu's: 4000 × 64 = 250 KiB). */
const MAX_KEY_MATERIAL_BYTES = 16 * 1024 * 1024;

const MAGIC = [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe];

export interface LuksKeySlot {
  active: boolean;
  iterations: number;
  salt: Uint8Array;
  /** Sector (from the start of the LUKS header) where the slot's key material starts. */
  keyMaterialOffset: number;
  stripes: number;
}

export interface LuksHeader {
  cipherName: string;
  cipherMode: string;
  hashSpec: string;
  /** Sectors of the header area (header and every key slot's material), padded. */
  payloadOffset: number;
  keyBytes: number;
  mkDigest: Uint8Array;
  mkDigestSalt: Uint8Array;
  mkDigestIterations: number;
  uuid: string;
  slots: LuksKeySlot[];
}

const latin1 = new TextDecoder('latin1');

function readText(bytes: Uint8Array, at: number, length: number, field: string): string {
  const raw = bytes.subarray(at, at + length);
  const end = raw.indexOf(0);
  if (end < 0) throw corrupt(`luks header field ${field} is not nul-terminated`);
  return latin1.decode(raw.subarray(0, end));
}

function writeText(bytes: Uint8Array, at: number, length: number, text: string, field: string): void {
  const encoded = new TextEncoder().encode(text);
  if (encoded.length >= length)
    throw new RangeError(`luks header field ${field} "${text}" is too long`);
  bytes.set(encoded, at);
}

/** Decodes and checks a LUKS1 header against the area it sits in (`areaBytes`). */
export function decodeLuksHeader(options: {
  bytes: Uint8Array;
  areaBytes: number;
  imageName: string;
}): LuksHeader {
  const { bytes, imageName } = options;
  const fail = (what: string) => corrupt(`luks header of ${imageName}: ${what}`);
  if (bytes.length < LUKS_HEADER_BYTES) throw fail(`shorter than ${LUKS_HEADER_BYTES} bytes`);
  if (!MAGIC.every((byte, i) => bytes[i] === byte)) throw fail('bad magic');
  const version = readU16(bytes, 6);
  if (version !== 1) {
    throw unsupported(
      `luks header of ${imageName} is version ${version}; only luks1 (what qemu writes into qcow2) is supported`,
    );
  }
  const keyBytes = readU32(bytes, 108);
  if (keyBytes < 16 || keyBytes > 128) throw fail(`key-bytes ${keyBytes} out of range 16..128`);
  const mkDigestIterations = readU32(bytes, 164);
  if (mkDigestIterations < 1) throw fail('mk-digest-iter is 0');
  const payloadOffset = readU32(bytes, 104);
  const slots: LuksKeySlot[] = [];
  for (let i = 0; i < LUKS_KEY_SLOTS; i++) {
    const at = 208 + i * 48;
    const state = readU32(bytes, at);
    if (state !== SLOT_ENABLED && state !== SLOT_DISABLED) {
      throw fail(`key slot ${i} state 0x${state.toString(16)} is neither enabled nor disabled`);
    }
    const slot: LuksKeySlot = {
      active: state === SLOT_ENABLED,
      iterations: readU32(bytes, at + 4),
      salt: new Uint8Array(bytes.subarray(at + 8, at + 8 + LUKS_SALT_BYTES)),
      keyMaterialOffset: readU32(bytes, at + 40),
      stripes: readU32(bytes, at + 44),
    };
    if (slot.active) {
      const materialBytes = keyBytes * slot.stripes;
      if (slot.iterations < 1) throw fail(`key slot ${i} has 0 iterations`);
      if (slot.stripes < 1 || materialBytes > MAX_KEY_MATERIAL_BYTES)
        throw fail(`key slot ${i} has ${slot.stripes} stripes`);
      const end = slot.keyMaterialOffset * LUKS_SECTOR_BYTES + materialBytes;
      if (slot.keyMaterialOffset * LUKS_SECTOR_BYTES < LUKS_HEADER_BYTES || end > options.areaBytes)
        throw fail(`key slot ${i} material lies outside the ${options.areaBytes}-byte header area`);
    }
    slots.push(slot);
  }
  return {
    cipherName: readText(bytes, 8, 32, 'cipher-name'),
    cipherMode: readText(bytes, 40, 32, 'cipher-mode'),
    hashSpec: readText(bytes, 72, 32, 'hash-spec'),
    payloadOffset,
    keyBytes,
    mkDigest: new Uint8Array(bytes.subarray(112, 112 + LUKS_DIGEST_BYTES)),
    mkDigestSalt: new Uint8Array(bytes.subarray(132, 132 + LUKS_SALT_BYTES)),
    mkDigestIterations,
    uuid: readText(bytes, 168, 40, 'uuid'),
    slots,
  };
}

export function encodeLuksHeader(header: LuksHeader): Uint8Array {
  const bytes = new Uint8Array(LUKS_HEADER_BYTES);
  bytes.set(MAGIC, 0);
  writeU16(bytes, 6, 1);
  writeText(bytes, 8, 32, header.cipherName, 'cipher-name');
  writeText(bytes, 40, 32, header.cipherMode, 'cipher-mode');
  writeText(bytes, 72, 32, header.hashSpec, 'hash-spec');
  writeU32(bytes, 104, header.payloadOffset);
  writeU32(bytes, 108, header.keyBytes);
  bytes.set(header.mkDigest, 112);
  bytes.set(header.mkDigestSalt, 132);
  writeU32(bytes, 164, header.mkDigestIterations);
  writeText(bytes, 168, 40, header.uuid, 'uuid');
  header.slots.forEach((slot, i) => {
    const at = 208 + i * 48;
    writeU32(bytes, at, slot.active ? SLOT_ENABLED : SLOT_DISABLED);
    writeU32(bytes, at + 4, slot.iterations);
    bytes.set(slot.salt, at + 8);
    writeU32(bytes, at + 40, slot.keyMaterialOffset);
    writeU32(bytes, at + 44, slot.stripes);
  });
  return bytes;
}

/**
 * Where each key slot's material goes and the header area's size, in sectors, as qemu and
 * cryptsetup compute them: slot i at 8 + i × (its material rounded up to 8 sectors); the
 * area (payload offset) ends after the eighth slot.
 */
export function keySlotLayout(keyBytes: number, stripes: number): {
  slotOffsets: number[];
  payloadOffset: number;
} {
  const sectors = Math.ceil((keyBytes * stripes) / LUKS_SECTOR_BYTES);
  const step =
    Math.ceil(sectors / KEY_MATERIAL_ALIGN_SECTORS) * KEY_MATERIAL_ALIGN_SECTORS;
  const first = 4096 / LUKS_SECTOR_BYTES;
  const slotOffsets = Array.from({ length: LUKS_KEY_SLOTS }, (_, i) => first + step * i);
  return { slotOffsets, payloadOffset: first + step * LUKS_KEY_SLOTS };
}
