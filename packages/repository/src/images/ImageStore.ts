import { createHash } from 'node:crypto';
import { IntegrityError, InvalidInputError, RepositoryError } from '../errors';
import { checkDigest, layout } from '../layout';
import type { Repository } from '../Repository';
import { imageIndexSchema, type ImageIndex } from '../schema/imageIndex';
import type { ObjectRef } from '../schema/objectRef';
import { parseJsonObject } from '../schema/parse';
import { digestOf, verifyingStream } from '../digest/sha256';

/**
 * OCI blobs and image indexes in the repository (DESIGN.md §5): blobs (manifests, configs,
 * layers) are stored once under `images/blobs/sha256/<hex>`, shared by every backup of every
 * app, written only when absent and only after their bytes matched the digest; each backup's
 * images are listed in `images/index/<app>/<backupId>.json`.
 */
export class ImageStore {
  constructor(readonly repo: Repository) {}

  /** Whether the blob is stored (with `size`, when given: a blob of another size is not). */
  async hasBlob(digest: string, size?: number): Promise<boolean> {
    const info = await this.repo.target.head(layout.imageBlob(digest));
    return info !== undefined && (size === undefined || info.size === size);
  }

  /**
   * Stores a blob from a stream unless it is already there; `open` is called only when needed.
   * The bytes are hashed on the way and the upload fails (nothing visible) when size or digest
   * differ, so no blob is ever stored under a wrong digest.
   */
  async ensureBlob(o: {
    digest: string;
    size: number;
    open: () => Promise<AsyncIterable<Uint8Array>>;
    /** What the bytes are, for errors (e.g. `layer of registry/app:1`). */
    source?: string;
  }): Promise<{ stored: boolean }> {
    if (await this.hasBlob(o.digest, o.size)) return { stored: false };
    const key = layout.imageBlob(o.digest);
    await this.repo.target.putStream(key, checkedIngest({ ...o, key }, await o.open()));
    return { stored: true };
  }

  /** Stores bytes (a manifest) under their own digest unless present. */
  async ensureBlobBytes(bytes: Uint8Array): Promise<{ digest: string; stored: boolean }> {
    const digest = digestOf(bytes);
    if (await this.hasBlob(digest, bytes.length)) return { digest, stored: false };
    await this.repo.target.put(layout.imageBlob(digest), bytes);
    return { digest, stored: true };
  }

  /** A blob's bytes, checked against its digest and size (IntegrityError names the blob). */
  async getBlob(digest: string, size: number): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const c of await this.blobStream(digest, size)) chunks.push(c);
    return Buffer.concat(chunks);
  }

  /** Streams a blob; the stream throws IntegrityError after the last chunk if it does not match. */
  async blobStream(digest: string, size: number): Promise<AsyncIterable<Uint8Array>> {
    const key = layout.imageBlob(digest);
    return verifyingStream({ key, size, digest }, await this.repo.target.getStream(key));
  }

  /** Writes (or rewrites, until the commit) the image index of an uncommitted backup. */
  async writeIndex(index: ImageIndex): Promise<ObjectRef> {
    const parsed = imageIndexSchema.parse(index);
    const app = parsed.annotations['io.ferry.app'];
    const backupId = parsed.annotations['io.ferry.backup-id'];
    await this.repo.assertNotCommitted(app, backupId);
    return this.repo.putObject(layout.imageIndex(app, backupId), JSON.stringify(parsed, null, 2));
  }

  /** Reads and checks an image index by reference (digest, schema, names). */
  async readIndexRef(ref: ObjectRef, expect?: { app: string; backupId: string }): Promise<ImageIndex> {
    const index = parseJsonObject(imageIndexSchema, ref.key, await this.repo.getVerified(ref));
    if (expect && (index.annotations['io.ferry.app'] !== expect.app || index.annotations['io.ferry.backup-id'] !== expect.backupId)) {
      throw new IntegrityError(ref.key, `describes ${index.annotations['io.ferry.app']}/${index.annotations['io.ferry.backup-id']}`);
    }
    return index;
  }

  /** The image index of a committed backup, verified against the digest in its manifest. */
  async readIndex(app: string, backupId: string): Promise<{ ref: ObjectRef; index: ImageIndex }> {
    const m = await this.repo.readManifest(app, backupId);
    if (!m.images) throw new RepositoryError('NOT_FOUND', `backup ${backupId} of ${app} has no images`);
    if (m.images.key !== layout.imageIndex(app, backupId)) {
      throw new IntegrityError(layout.manifest(app, backupId), `field "images.key" is ${m.images.key}`);
    }
    return { ref: m.images, index: await this.readIndexRef(m.images, { app, backupId }) };
  }
}

async function* checkedIngest(
  o: { key: string; digest: string; size: number; source?: string },
  body: AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  checkDigest(o.digest);
  const h = createHash('sha256');
  let size = 0;
  const from = o.source ? ` from ${o.source}` : '';
  for await (const chunk of body) {
    size += chunk.length;
    if (size > o.size) throw new IntegrityError(o.key, `source${from} sent more than the ${o.size} bytes of blob ${o.digest}`);
    h.update(chunk);
    yield chunk;
  }
  if (size !== o.size) throw new IntegrityError(o.key, `source${from} sent ${size} bytes, blob ${o.digest} has ${o.size}`);
  const d = `sha256:${h.digest('hex')}`;
  if (d !== o.digest) throw new IntegrityError(o.key, `source${from} sent bytes with digest ${d}, not ${o.digest}`);
}

export function checkImageIndexKey(ref: ObjectRef, app: string, backupId: string): void {
  if (ref.key !== layout.imageIndex(app, backupId)) {
    throw new InvalidInputError(`image index ${ref.key} is not ${layout.imageIndex(app, backupId)}`);
  }
}
