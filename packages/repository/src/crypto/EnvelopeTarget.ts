import type { PositionalSink, RangeSource } from '@ferry/qcow2';
import { IntegrityError, InvalidInputError } from '../errors';
import { parseVolumeKey } from '../layout';
import type {
  IncompleteUpload,
  ObjectInfo,
  OpenSinkOptions,
  PutOptions,
  Retention,
  Target,
} from '../target/Target';
import {
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_MAGIC,
  isEnvelope,
  openBytes,
  openStream,
  plaintextSizeOf,
  sealBytes,
  sealStream,
} from './envelope';
import type { Keyring } from './RepositoryKeys';

/**
 * Written (in the clear, once) by the first writer with keys: the repository holds sealed
 * objects, so a writer without keys is refused instead of storing objects in the clear among
 * them (or replacing a sealed image blob with a plain one).
 */
export const ENCRYPTED_MARKER = 'ferry.encrypted.json';

/**
 * Which objects are enveloped: all but `ferry.json` (the format, read before any key), the
 * applications' lock leases, the QCOW2 images (LUKS encrypts their data clusters, and readers
 * need random access) and hidden probe/temp names.
 */
export function isEnvelopedKey(key: string): boolean {
  if (key === 'ferry.json' || key === ENCRYPTED_MARKER) return false;
  if (key.split('/').some(part => part.startsWith('.'))) return false;
  if (/^apps\/[^/]+\/lock$/.test(key)) return false;
  return parseVolumeKey(key)?.ext !== 'qcow2';
}

/**
 * A target seen through the envelope: with a keyring, enveloped objects are sealed on write
 * with the current key and opened on read with the key their header names; sizes (head, list,
 * putStream) are plaintext sizes, so object references and their digests describe plaintext.
 * Without a keyring, plain objects pass and an enveloped one is a KeyUnavailableError. With a
 * keyring an unenveloped object is refused (an attacker who may write to the target cannot
 * slip a forged plain manifest in) unless `readUnencrypted` (backups made before encryption was
 * turned on).
 */
export class EnvelopeTarget implements Target {
  readonly description: string;

  constructor(
    readonly inner: Target,
    readonly keys?: Keyring,
    private readonly readUnencrypted = false,
  ) {
    this.description = inner.description;
  }

  get objectLock() {
    return this.inner.objectLock;
  }

  get streamsReads() {
    return this.inner.streamsReads;
  }

  private marker?: Promise<void>;

  private seals(key: string): boolean {
    return this.keys !== undefined && isEnvelopedKey(key);
  }

  /** Before the first write of an enveloped key: mark the repository (keys) or check the mark (none). */
  private async guardWrite(key: string): Promise<void> {
    if (!isEnvelopedKey(key)) return;
    this.marker ??= this.keys
      ? this.inner
          .putIfAbsent(
            ENCRYPTED_MARKER,
            JSON.stringify({ format: 'ferry.encrypted', envelope: 1, since: new Date().toISOString() }, null, 2),
          )
          .then(() => undefined)
      : this.inner.head(ENCRYPTED_MARKER).then(found => {
          if (found) {
            throw new InvalidInputError(
              `${this.inner.description} holds encrypted backups (${ENCRYPTED_MARKER}): writing objects in the clear there is refused; give the repository's keys (the target's encryption key Secret, or --encryption-key-dir)`,
            );
          }
        });
    const pending = this.marker;
    pending.catch(() => {
      if (this.marker === pending) this.marker = undefined; // a failed check is tried again
    });
    await pending;
  }

  private plain(key: string, data: Uint8Array): Uint8Array {
    if (this.keys && isEnvelopedKey(key) && !this.readUnencrypted) {
      throw new IntegrityError(
        key,
        `is not encrypted, but ${this.keys.source} is configured for this target (objects are refused in the clear unless reading unencrypted backups is allowed)`,
      );
    }
    return data;
  }

  private open(key: string, data: Uint8Array): Uint8Array {
    return isEnvelope(data) ? openBytes({ keys: this.keys, name: key, data }) : this.plain(key, data);
  }

  async put(key: string, data: Uint8Array | string, options?: PutOptions): Promise<void> {
    await this.guardWrite(key);
    return this.inner.put(key, this.seal(key, data), options);
  }

  async putIfAbsent(key: string, data: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    await this.guardWrite(key);
    return this.inner.putIfAbsent(key, this.seal(key, data), options);
  }

  private seal(key: string, data: Uint8Array | string): Uint8Array | string {
    if (!this.seals(key)) return data;
    return sealBytes({ key: this.keys!.current, name: key, data: typeof data === 'string' ? Buffer.from(data) : data });
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<{ size: number }> {
    await this.guardWrite(key);
    if (!this.seals(key)) return this.inner.putStream(key, body);
    let size = 0;
    const counted = (async function* count() {
      for await (const c of body) {
        size += c.length;
        yield c;
      }
    })();
    await this.inner.putStream(key, sealStream({ key: this.keys!.current, name: key, body: counted }));
    return { size };
  }

  async get(key: string): Promise<Uint8Array> {
    const data = await this.inner.get(key);
    return isEnvelopedKey(key) ? this.open(key, data) : data;
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array>> {
    const stream = await this.inner.getStream(key);
    if (!isEnvelopedKey(key)) return stream;
    return this.openingStream(key, stream);
  }

  private async *openingStream(key: string, stream: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    const it = stream[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let length = 0;
    while (length < ENVELOPE_HEADER_BYTES) {
      const next = await it.next();
      if (next.done) break;
      head.push(Buffer.from(next.value));
      length += next.value.length;
    }
    const first = Buffer.concat(head);
    if (first.length >= ENVELOPE_MAGIC.length && isEnvelope(first)) {
      yield* openStream({ keys: this.keys, name: key, head: first, rest: it });
      return;
    }
    this.plain(key, first);
    if (first.length) yield first;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }

  /** Plaintext size of a stored object (enveloped objects carry 52 + 16 per 64 KiB more). */
  private async sizeOf(key: string, stored: number): Promise<number> {
    if (!this.keys || !isEnvelopedKey(key)) return stored;
    const plain = plaintextSizeOf(stored);
    if (plain === undefined || !this.readUnencrypted) return plain ?? stored;
    // plain objects may be there too: only the first bytes tell
    const source = await this.inner.openSource(key);
    try {
      const magic = await source.read(0, ENVELOPE_MAGIC.length);
      return isEnvelope(magic) ? plain : stored;
    } finally {
      await source.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.inner.head(key);
    return info && { ...info, size: await this.sizeOf(key, info.size) };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const o of this.inner.list(prefix)) {
      // sizes by arithmetic only (no extra reads while listing)
      const plain = this.keys && isEnvelopedKey(o.key) ? plaintextSizeOf(o.size) : undefined;
      yield plain === undefined ? o : { ...o, size: plain };
    }
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  openSink(key: string, options?: OpenSinkOptions): Promise<PositionalSink> {
    return this.inner.openSink(key, options);
  }

  openSource(key: string): Promise<RangeSource> {
    return this.inner.openSource(key);
  }

  listIncomplete(prefix: string): AsyncIterable<IncompleteUpload> {
    return this.inner.listIncomplete(prefix);
  }

  removeIncomplete(upload: IncompleteUpload): Promise<void> {
    return this.inner.removeIncomplete(upload);
  }

  supportsAtomicCreate(): Promise<boolean> {
    return this.inner.supportsAtomicCreate();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  retention(key: string): Promise<Retention | undefined> {
    return this.inner.retention ? this.inner.retention(key) : Promise.resolve(undefined);
  }

  async retain(key: string, until: Date): Promise<void> {
    await this.inner.retain?.(key, until);
  }

  async checkObjectLock(): Promise<void> {
    await this.inner.checkObjectLock?.();
  }

  /** The key id in an object's envelope header (read in the clear), or undefined when plain. */
  async keyIdOf(key: string): Promise<string | undefined> {
    if (!isEnvelopedKey(key)) return undefined;
    const source = await this.inner.openSource(key);
    try {
      const size = await source.size();
      if (size < ENVELOPE_HEADER_BYTES) return undefined;
      const head = await source.read(0, ENVELOPE_HEADER_BYTES);
      return isEnvelope(head) ? Buffer.from(head.subarray(12, 20)).toString('hex') : undefined;
    } finally {
      await source.close();
    }
  }
}
