import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { IntegrityError, KeyUnavailableError, UnsupportedFormatError } from '../errors';
import type { KeyLookup, RepositoryKey } from './RepositoryKeys';

/**
 * The authenticated envelope of repository objects (format in the package README, "Encryption"):
 *
 * ```
 * offset size
 *  0      8   magic "FERRYENV"
 *  8      1   format version (1)
 *  9      1   algorithm (1: AES-256-GCM in segments, object key from HKDF-SHA256)
 * 10      1   log2 of the segment size (16: 64 KiB)
 * 11      1   reserved (0)
 * 12      8   key id (RepositoryKeys.keyIdOf)
 * 20     32   salt, random per object
 * 52      …   segments: ciphertext (≤ 64 KiB) ‖ GCM tag (16 bytes)
 * ```
 * Object key = HKDF-SHA256(ikm = repository key, salt, info = "ferry.io envelope v1" ‖ 0x00 ‖
 * SHA-256(object key name)), 32 bytes: the name binds the bytes to their place (an envelope
 * copied under another name does not open). Segment i is sealed with nonce = i (11 bytes,
 * big-endian) ‖ last-flag (1 byte) and the 52 header bytes as additional data (the STREAM
 * construction, as in age): every segment but the last holds exactly 64 KiB, so reordered,
 * dropped, appended or truncated segments fail authentication.
 */
export const ENVELOPE_MAGIC = Buffer.from('FERRYENV', 'ascii');
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_ALGORITHM = 1;
export const ENVELOPE_HEADER_BYTES = 52;
export const SEGMENT_LOG2 = 16;
export const SEGMENT_BYTES = 1 << SEGMENT_LOG2;
export const TAG_BYTES = 16;
const INFO_LABEL = Buffer.from('ferry.io envelope v1\0', 'ascii');

export interface EnvelopeHeader {
  keyId: string;
  salt: Buffer;
  bytes: Buffer;
}

/** Whether stored bytes start with the envelope's magic. */
export function isEnvelope(bytes: Uint8Array): boolean {
  return bytes.length >= ENVELOPE_MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, 8).equals(ENVELOPE_MAGIC);
}

/** Stored size of an envelope holding `plain` bytes. */
export function envelopedSize(plain: number): number {
  return ENVELOPE_HEADER_BYTES + plain + TAG_BYTES * Math.max(1, Math.ceil(plain / SEGMENT_BYTES));
}

/** Plaintext size of an envelope of `stored` bytes; undefined when no envelope has that size. */
export function plaintextSizeOf(stored: number): number | undefined {
  const body = stored - ENVELOPE_HEADER_BYTES;
  if (body < TAG_BYTES) return undefined;
  const segments = Math.ceil(body / (SEGMENT_BYTES + TAG_BYTES));
  const plain = body - TAG_BYTES * segments;
  return envelopedSize(plain) === stored ? plain : undefined;
}

function encodeHeader(keyId: string, salt: Buffer): Buffer {
  const h = Buffer.alloc(ENVELOPE_HEADER_BYTES);
  ENVELOPE_MAGIC.copy(h, 0);
  h[8] = ENVELOPE_VERSION;
  h[9] = ENVELOPE_ALGORITHM;
  h[10] = SEGMENT_LOG2;
  h[11] = 0;
  Buffer.from(keyId, 'hex').copy(h, 12);
  salt.copy(h, 20);
  return h;
}

/** Parses the 52 header bytes of object `key` (refusing other versions and algorithms). */
export function parseEnvelopeHeader(bytes: Uint8Array, key: string): EnvelopeHeader {
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, ENVELOPE_HEADER_BYTES));
  if (h.length < ENVELOPE_HEADER_BYTES || !isEnvelope(h)) {
    throw new IntegrityError(key, `envelope header is missing or shorter than ${ENVELOPE_HEADER_BYTES} bytes`);
  }
  if (h[8] !== ENVELOPE_VERSION) {
    throw new UnsupportedFormatError(`object ${key} has envelope version ${h[8]}; this Ferry reads version ${ENVELOPE_VERSION}`);
  }
  if (h[9] !== ENVELOPE_ALGORITHM || h[10] !== SEGMENT_LOG2 || h[11] !== 0) {
    throw new UnsupportedFormatError(
      `object ${key} has envelope algorithm ${h[9]} with segment bits ${h[10]}; this Ferry reads algorithm ${ENVELOPE_ALGORITHM} with ${SEGMENT_LOG2}`,
    );
  }
  return { keyId: h.subarray(12, 20).toString('hex'), salt: Buffer.from(h.subarray(20, 52)), bytes: Buffer.from(h) };
}

function objectKeyFor(key: RepositoryKey, salt: Buffer, name: string): Buffer {
  const info = Buffer.concat([INFO_LABEL, createHash('sha256').update(name, 'utf8').digest()]);
  return Buffer.from(hkdfSync('sha256', key.secret, salt, info, 32));
}

function nonceOf(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(index, 5, 6); // 11-byte counter: the top 5 bytes stay zero below 2^48 segments
  n[11] = last ? 1 : 0;
  return n;
}

class Sealer {
  readonly header: Buffer;
  private readonly objectKey: Buffer;
  private index = 0;

  constructor(key: RepositoryKey, name: string) {
    const salt = randomBytes(32);
    this.header = encodeHeader(key.id, salt);
    this.objectKey = objectKeyFor(key, salt, name);
  }

  segment(plain: Uint8Array, last: boolean): Buffer {
    const c = createCipheriv('aes-256-gcm', this.objectKey, nonceOf(this.index++, last));
    c.setAAD(this.header);
    const out = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    if (last) this.objectKey.fill(0);
    return out;
  }
}

class Opener {
  private readonly objectKey: Buffer;
  private index = 0;

  constructor(
    private readonly header: EnvelopeHeader,
    key: RepositoryKey,
    private readonly name: string,
  ) {
    this.objectKey = objectKeyFor(key, header.salt, name);
  }

  segment(sealed: Uint8Array, last: boolean): Buffer {
    const i = this.index++;
    if (sealed.length < TAG_BYTES || sealed.length - TAG_BYTES > SEGMENT_BYTES || (!last && sealed.length !== SEGMENT_BYTES + TAG_BYTES)) {
      throw new IntegrityError(this.name, `envelope segment ${i} has ${sealed.length} bytes`);
    }
    const d = createDecipheriv('aes-256-gcm', this.objectKey, nonceOf(i, last));
    d.setAAD(this.header.bytes);
    d.setAuthTag(Buffer.from(sealed.subarray(sealed.length - TAG_BYTES)));
    try {
      const out = Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_BYTES)), d.final()]);
      if (last) this.objectKey.fill(0);
      return out;
    } catch (e) {
      throw new IntegrityError(
        this.name,
        `envelope segment ${i} failed authentication (the object was changed, truncated, or moved from another name)`,
        { cause: e },
      );
    }
  }
}

function keyFor(header: EnvelopeHeader, keys: KeyLookup | undefined, name: string): RepositoryKey {
  const key = keys?.byId(header.keyId);
  if (!key) throw new KeyUnavailableError({ key: name, keyId: header.keyId, source: keys?.source, held: keys?.ids() });
  return key;
}

/** Seals `data` as object `name` with `key`. */
export function sealBytes(o: { key: RepositoryKey; name: string; data: Uint8Array }): Buffer {
  const s = new Sealer(o.key, o.name);
  const parts = [s.header];
  const n = o.data.length;
  if (n === 0) parts.push(s.segment(o.data, true));
  for (let at = 0; at < n; at += SEGMENT_BYTES) {
    const end = Math.min(n, at + SEGMENT_BYTES);
    parts.push(s.segment(o.data.subarray(at, end), end === n));
  }
  return Buffer.concat(parts);
}

/** Opens the envelope of object `name` (IntegrityError on any change, KeyUnavailableError without its key). */
export function openBytes(o: { keys: KeyLookup | undefined; name: string; data: Uint8Array }): Buffer {
  const header = parseEnvelopeHeader(o.data, o.name);
  const opener = new Opener(header, keyFor(header, o.keys, o.name), o.name);
  const body = o.data.subarray(ENVELOPE_HEADER_BYTES);
  const step = SEGMENT_BYTES + TAG_BYTES;
  const parts: Buffer[] = [];
  let at = 0;
  do {
    const end = Math.min(body.length, at + step);
    parts.push(opener.segment(body.subarray(at, end), end === body.length));
    at = end;
  } while (at < body.length);
  return Buffer.concat(parts);
}

/** Collects a stream's chunks and hands out pieces of exactly `size` bytes while more remain. */
class Chunker {
  private chunks: Buffer[] = [];
  length = 0;

  push(c: Uint8Array) {
    if (c.length === 0) return;
    this.chunks.push(Buffer.from(c.buffer, c.byteOffset, c.length));
    this.length += c.length;
  }

  take(size: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = Buffer.from(all.subarray(0, size)); // a copy: the source's buffers may be reused
    const rest = all.subarray(size);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }
}

/** Seals a stream as object `name`: header, then one sealed segment per 64 KiB. */
export async function* sealStream(o: {
  key: RepositoryKey;
  name: string;
  body: AsyncIterable<Uint8Array>;
}): AsyncIterable<Uint8Array> {
  const s = new Sealer(o.key, o.name);
  yield s.header;
  const pending = new Chunker();
  for await (const chunk of o.body) {
    pending.push(chunk);
    // a full segment is known not to be the last only once a byte after it has arrived
    while (pending.length > SEGMENT_BYTES) yield s.segment(pending.take(SEGMENT_BYTES), false);
  }
  yield s.segment(pending.take(pending.length), true);
}

/**
 * Opens an enveloped stream whose first bytes (`head`, at least the header) were already read:
 * yields plaintext one authenticated segment at a time, so nothing unauthenticated is released;
 * a truncated stream fails at its end.
 */
export async function* openStream(o: {
  keys: KeyLookup | undefined;
  name: string;
  head: Uint8Array;
  rest: AsyncIterator<Uint8Array>;
}): AsyncIterable<Uint8Array> {
  const header = parseEnvelopeHeader(o.head, o.name);
  const opener = new Opener(header, keyFor(header, o.keys, o.name), o.name);
  const step = SEGMENT_BYTES + TAG_BYTES;
  const pending = new Chunker();
  pending.push(o.head.subarray(ENVELOPE_HEADER_BYTES));
  for (;;) {
    while (pending.length > step) yield opener.segment(pending.take(step), false);
    const next = await o.rest.next();
    if (next.done) break;
    pending.push(next.value);
  }
  yield opener.segment(pending.take(pending.length), true);
}
