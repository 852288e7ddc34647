import { randomBytes } from 'node:crypto';
import { Qcow2Error } from '../format/errors';
import { afMerge, afSplit } from './afSplit';
import { DEFAULT_LUKS_ITERATIONS, LuksKey } from './LuksKey';
import { LUKS_HEADER_BYTES, decodeLuksHeader, keySlotLayout } from './luksHeader';

/** A LUKS header area in memory, as the writer stores it. */
function areaOf(key: LuksKey): Uint8Array {
  const area = new Uint8Array(key.areaBytes);
  area.set(key.headerBytes, 0);
  for (const part of key.material) area.set(part.bytes, part.offset);
  return area;
}

function unlock(area: Uint8Array, passphrase: string | Uint8Array) {
  return LuksKey.unlock({
    read: async (offset, length) => area.subarray(offset, offset + length),
    areaBytes: area.length,
    passphrase,
    imageName: 'memory.qcow2',
  });
}

describe('LuksKey', () => {
  it('splits and merges key material (anti-forensic splitter) for any stripe count and hash', () => {
    for (const [bytes, stripes, hash] of [[64, 4000, 'sha256'], [32, 1, 'sha256'], [48, 7, 'sha1']] as const) {
      const key = randomBytes(bytes);
      const split = afSplit(key, stripes, hash);
      expect(split.length).toBe(bytes * stripes);
      expect(afMerge(split, bytes, stripes, hash).equals(key)).toBe(true);
      split[0] ^= 1; // any stripe matters (the first one here; with one stripe, the key itself)
      expect(afMerge(split, bytes, stripes, hash).equals(key)).toBe(false);
    }
  });

  it('lays key slots out as qemu and cryptsetup do', () => {
    expect(keySlotLayout(64, 4000)).toEqual({
      slotOffsets: [8, 512, 1016, 1520, 2024, 2528, 3032, 3536],
      payloadOffset: 4040,
    });
    expect(keySlotLayout(32, 4000).payloadOffset).toBe(2056);
  });

  it('creates a key that the same passphrase unlocks (text or its UTF-8 bytes) and others do not', async () => {
    const key = await LuksKey.create({ passphrase: 'pässwörd', iterations: 1000 });
    const header = decodeLuksHeader({ bytes: key.headerBytes, areaBytes: key.areaBytes, imageName: 'x' });
    expect(header).toMatchObject({ cipherName: 'aes', cipherMode: 'xts-plain64', hashSpec: 'sha256', keyBytes: 64, mkDigestIterations: 1000 });
    expect(header.slots.map(s => s.active)).toEqual([true, false, false, false, false, false, false, false]);
    const area = areaOf(key);
    const sample = randomBytes(4096);
    const encrypted = Buffer.from(sample);
    key.cipher.encrypt(encrypted, 12345);
    expect(encrypted.equals(sample)).toBe(false);
    for (const passphrase of ['pässwörd', Buffer.from('pässwörd', 'utf8')]) {
      const opened = await unlock(area, passphrase);
      const decrypted = Buffer.from(encrypted);
      opened.cipher.decrypt(decrypted, 12345);
      expect(decrypted.equals(sample)).toBe(true);
      expect(opened.sameHeader(key.headerBytes)).toBe(true);
    }
    // The IV is the sector number: another sector number does not decrypt.
    const shifted = Buffer.from(encrypted);
    key.cipher.decrypt(shifted, 12346);
    expect(shifted.equals(sample)).toBe(false);
    const wrong = await unlock(area, 'passwörd').catch(e => e as Qcow2Error);
    expect(wrong).toBeInstanceOf(Qcow2Error);
    expect((wrong as Qcow2Error).kind).toBe('passphrase-wrong');
    expect((wrong as Qcow2Error).message).toBe('the passphrase opens none of the 1 active luks key slot(s) of memory.qcow2');
  });

  it('uses 600,000 iterations by default', async () => {
    expect(DEFAULT_LUKS_ITERATIONS).toBe(600_000);
    const key = await LuksKey.create({ passphrase: 'p', cipher: 'aes-128-xts-plain64' });
    const header = decodeLuksHeader({ bytes: key.headerBytes, areaBytes: key.areaBytes, imageName: 'x' });
    expect(header.slots[0].iterations).toBe(600_000);
    expect(header.mkDigestIterations).toBe(75_000);
    expect(header.keyBytes).toBe(32);
  });

  it('refuses bad options, naming the field and never echoing the passphrase', async () => {
    await expect(LuksKey.create({ passphrase: '' })).rejects.toThrow(/encryption.passphrase is empty/);
    await expect(LuksKey.create({ passphrase: 'a\u0000b' })).rejects.toThrow(/encryption.passphrase contains a nul byte/);
    await expect(LuksKey.create({ passphrase: 42 as never })).rejects.toThrow(/encryption.passphrase must be a string or bytes/);
    await expect(LuksKey.create({ passphrase: 'secret-value', cipher: 'aes-256-cbc-essiv' as never })).rejects.toThrow(
      /^encryption.cipher "aes-256-cbc-essiv" must be aes-256-xts-plain64 or aes-128-xts-plain64$/,
    );
    await expect(LuksKey.create({ passphrase: 'secret-value', iterations: 999 })).rejects.toThrow(/encryption.iterations 999 must be/);
  });

  it('refuses headers it cannot read with typed errors before deriving any key', async () => {
    const key = await LuksKey.create({ passphrase: 'p', iterations: 1000 });
    const area = areaOf(key);
    const badMagic = Buffer.from(area);
    badMagic[0] = 0;
    await expect(unlock(badMagic, 'p')).rejects.toMatchObject({ kind: 'corrupt', message: 'luks header of memory.qcow2: bad magic' });
    const cbc = Buffer.from(area);
    cbc.fill(0, 40, 72);
    cbc.write('cbc-essiv:sha256', 40);
    await expect(unlock(cbc, 'p')).rejects.toMatchObject({ kind: 'unsupported' });
    const outside = Buffer.from(area);
    outside.writeUInt32BE(0xffffff, 208 + 40); // slot 0 material offset far past the area
    await expect(unlock(outside, 'p')).rejects.toMatchObject({ kind: 'corrupt' });
    expect(area.length).toBeGreaterThan(LUKS_HEADER_BYTES);
  });
});
