import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { IntegrityError, InvalidInputError, KeyUnavailableError, UnsupportedFormatError } from '../errors';
import {
  ENVELOPE_HEADER_BYTES,
  SEGMENT_BYTES,
  envelopedSize,
  openBytes,
  openStream,
  plaintextSizeOf,
  sealBytes,
  sealStream,
} from './envelope';
import { Keyring, RepositoryKey, keyIdOf } from './RepositoryKeys';

const secretA = Buffer.from('a'.repeat(32));
const secretB = randomBytes(32).toString('base64'); // 44 characters, as `head -c 32 /dev/urandom | base64` gives
const keyA = RepositoryKey.from({ name: 'key', bytes: secretA });
const keyB = RepositoryKey.from({ name: 'key-2', bytes: secretB });
const ringA = new Keyring({ keys: [keyA], current: 'key', source: 'Secret ferry-system/backup-key' });
const SIZES = [0, 1, 100, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES, 200_000];

async function* chunked(data: Buffer, size: number) {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function openStreamed(sealed: Buffer, name: string, keys = ringA, chunk = 4096): Promise<Buffer> {
  const it = chunked(sealed, chunk)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let length = 0;
  while (length < ENVELOPE_HEADER_BYTES) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    length += next.value.length;
  }
  return collect(openStream({ keys, name, head: Buffer.concat(head), rest: it }));
}

/** The envelope as the README describes it, built without the module's code. */
function sealByTheBook(o: { secret: Buffer; name: string; data: Buffer; salt: Buffer }): Buffer {
  const header = Buffer.concat([
    Buffer.from('FERRYENV'),
    Buffer.from([1, 1, 16, 0]),
    hkdfSync('sha256', o.secret, 'ferry.io key id v1', '', 8) as unknown as Uint8Array,
    o.salt,
  ].map(b => Buffer.from(b)));
  const info = Buffer.concat([Buffer.from('ferry.io envelope v1\0'), createHash('sha256').update(o.name).digest()]);
  const key = Buffer.from(hkdfSync('sha256', o.secret, o.salt, info, 32));
  const parts = [header];
  const count = Math.max(1, Math.ceil(o.data.length / 65536));
  for (let i = 0; i < count; i++) {
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(i, 5, 6);
    nonce[11] = i === count - 1 ? 1 : 0;
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(header);
    parts.push(c.update(o.data.subarray(i * 65536, (i + 1) * 65536)), c.final(), c.getAuthTag());
  }
  return Buffer.concat(parts);
}

describe('repository keys', () => {
  it('derives the key id as HKDF-SHA256 of the key (a fixed vector, computed with HMAC by hand)', () => {
    const prk = createHmac('sha256', 'ferry.io key id v1').update(secretA).digest();
    const t1 = createHmac('sha256', prk).update(Buffer.from([1])).digest();
    expect(keyA.id).toBe(t1.subarray(0, 8).toString('hex'));
    expect(keyA.id).toBe('799ac898baf724c2'); // python3 hmac, same construction
    expect(keyIdOf(Buffer.from(secretB))).toBe(keyB.id);
    expect(keyB.id).not.toBe(keyA.id);
  });

  it('refuses short keys and keys with a nul byte, naming the data key', () => {
    expect(() => RepositoryKey.from({ name: 'key', bytes: 'too short' })).toThrow(/encryption key "key" has 9 bytes; at least 32/);
    expect(() => RepositoryKey.from({ name: 'k', bytes: Buffer.concat([secretA, Buffer.from([0])]) })).toThrow(/nul byte/);
    expect(() => Keyring.fromData({ data: { key: 'x'.repeat(8) }, current: 'key', source: 'Secret ns/s' })).toThrow(
      /Secret ns\/s: encryption key "key" has 8 bytes/,
    );
    expect(() => Keyring.fromData({ data: { old: secretA }, current: 'key', source: 'Secret ns/s' })).toThrow(
      new InvalidInputError('Secret ns/s has no data key "key" to encrypt with (it has "old")'),
    );
  });
});

describe('envelope', () => {
  it('has the documented header and sizes', () => {
    const sealed = sealBytes({ key: keyA, name: 'apps/a/backups/x/manifest.json', data: Buffer.from('{}') });
    expect(sealed.subarray(0, 8).toString()).toBe('FERRYENV');
    expect([...sealed.subarray(8, 12)]).toEqual([1, 1, 16, 0]);
    expect(sealed.subarray(12, 20).toString('hex')).toBe(keyA.id);
    expect(sealed.length).toBe(52 + 2 + 16);
    for (const n of SIZES) {
      expect(sealBytes({ key: keyA, name: 'k', data: Buffer.alloc(n) }).length).toBe(envelopedSize(n));
      expect(plaintextSizeOf(envelopedSize(n))).toBe(n);
    }
    expect(envelopedSize(SEGMENT_BYTES)).toBe(52 + SEGMENT_BYTES + 16);
    expect(envelopedSize(SEGMENT_BYTES + 1)).toBe(52 + SEGMENT_BYTES + 1 + 32);
    for (const bad of [0, 52, 67, 52 + SEGMENT_BYTES + 17]) expect(plaintextSizeOf(bad)).toBeUndefined();
  });

  it('opens an envelope built by hand from the README (format conformance)', async () => {
    for (const n of [0, 5, SEGMENT_BYTES, SEGMENT_BYTES * 2 + 3]) {
      const data = randomBytes(n);
      const sealed = sealByTheBook({ secret: secretA, name: 'apps/a/volumes/d/x.index', data, salt: randomBytes(32) });
      expect(openBytes({ keys: ringA, name: 'apps/a/volumes/d/x.index', data: sealed }).equals(data)).toBe(true);
      expect((await openStreamed(sealed, 'apps/a/volumes/d/x.index')).equals(data)).toBe(true);
    }
  });

  it.each(SIZES)('round-trips %i bytes as bytes and as streams of any chunking', async n => {
    const data = randomBytes(n);
    const name = 'apps/shop/volumes/data/20260101T000000000Z-abcdef.index';
    const sealed = sealBytes({ key: keyA, name, data });
    expect(openBytes({ keys: ringA, name, data: sealed }).equals(data)).toBe(true);
    for (const chunk of [1, 1000, 65_536, 70_000]) {
      if (chunk === 1 && n > 1000) continue;
      const streamed = await collect(sealStream({ key: keyA, name, body: chunked(data, chunk) }));
      expect(streamed.length).toBe(envelopedSize(n));
      expect(openBytes({ keys: ringA, name, data: streamed }).equals(data)).toBe(true);
      expect((await openStreamed(streamed, name, ringA, chunk === 1 ? 7 : chunk)).equals(data)).toBe(true);
    }
    // a fresh salt (and object key) per seal: the same bytes never seal the same
    expect(sealBytes({ key: keyA, name, data }).equals(sealed)).toBe(false);
  });

  it('detects any change: header, ciphertext, tag, truncation, appended, reordered segments, another name', async () => {
    const name = 'apps/shop/backups/x/resources/v1/Secret/db.yaml';
    const data = randomBytes(3 * SEGMENT_BYTES + 10);
    const sealed = sealBytes({ key: keyA, name, data });
    const seg = SEGMENT_BYTES + 16;
    const flip = (at: number) => {
      const copy = Buffer.from(sealed);
      copy[at] ^= 1;
      return copy;
    };
    const cases: Array<[string, Buffer, string]> = [
      ['salt', flip(30), name],
      ['reserved byte', flip(11), name],
      ['first ciphertext byte', flip(52), name],
      ['a tag', flip(52 + seg - 1), name],
      ['last byte', flip(sealed.length - 1), name],
      ['the last segment dropped', sealed.subarray(0, 52 + 3 * seg), name],
      ['cut mid-segment', sealed.subarray(0, sealed.length - 5), name],
      ['a segment appended', Buffer.concat([sealed, sealed.subarray(52, 52 + seg)]), name],
      ['two segments swapped', Buffer.concat([sealed.subarray(0, 52), sealed.subarray(52 + seg, 52 + 2 * seg), sealed.subarray(52, 52 + seg), sealed.subarray(52 + 2 * seg)]), name],
      ['moved under another name', sealed, 'apps/shop/backups/x/resources/v1/Secret/other.yaml'],
    ];
    for (const [what, bytes, asName] of cases) {
      const sync = (() => {
        try {
          openBytes({ keys: ringA, name: asName, data: bytes });
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect([what, sync instanceof IntegrityError || sync instanceof UnsupportedFormatError]).toEqual([what, true]);
      await expect(openStreamed(bytes, asName)).rejects.toBeInstanceOf(sync!.constructor as typeof Error);
    }
    // a changed key id names a key the keyring does not hold
    expect(() => openBytes({ keys: ringA, name, data: flip(12) })).toThrow(KeyUnavailableError);
  });

  it('names the expected key id and where the keys came from when the key is missing or wrong', () => {
    const name = 'apps/shop/backups/x/manifest.json';
    const sealed = sealBytes({ key: keyA, name, data: Buffer.from('{}') });
    const wrong = new Keyring({ keys: [keyB], current: 'key-2', source: 'Secret ferry-system/backup-key' });
    expect(() => openBytes({ keys: wrong, name, data: sealed })).toThrow(
      `object ${name} is encrypted with key id ${keyA.id}, which Secret ferry-system/backup-key does not hold (it holds ${keyB.id})`,
    );
    expect(() => openBytes({ keys: undefined, name, data: sealed })).toThrow(
      `object ${name} is encrypted with key id ${keyA.id}, and no encryption key was given`,
    );
  });

  it('reads objects of every key of a rotated keyring and writes with the current one', () => {
    const name = 'apps/shop/backups/x/manifest.json';
    const old = sealBytes({ key: keyA, name, data: Buffer.from('old') });
    const rotated = new Keyring({ keys: [keyB, keyA], current: 'key-2', source: 'Secret ferry-system/backup-key' });
    expect(rotated.current.id).toBe(keyB.id);
    expect(openBytes({ keys: rotated, name, data: old }).toString()).toBe('old');
    const fresh = sealBytes({ key: rotated.current, name, data: Buffer.from('new') });
    expect(fresh.subarray(12, 20).toString('hex')).toBe(keyB.id);
    expect(openBytes({ keys: rotated, name, data: fresh }).toString()).toBe('new');
    // the old key alone no longer opens new objects, and says which key they need
    expect(() => openBytes({ keys: ringA, name, data: fresh })).toThrow(new RegExp(`key id ${keyB.id}`));
  });

  it('refuses other versions and algorithms as unsupported, not as corrupt', () => {
    const sealed = sealBytes({ key: keyA, name: 'k', data: Buffer.from('x') });
    const v2 = Buffer.from(sealed);
    v2[8] = 2;
    expect(() => openBytes({ keys: ringA, name: 'k', data: v2 })).toThrow(/envelope version 2; this Ferry reads version 1/);
    const seg = Buffer.from(sealed);
    seg[10] = 20;
    expect(() => openBytes({ keys: ringA, name: 'k', data: seg })).toThrow(UnsupportedFormatError);
  });
});
