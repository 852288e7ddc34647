import {
  IMAGE_INDEX_MEDIA_TYPE,
  ImageStore,
  imageIndexDigests,
  type ImageEntry,
  type ImageIndex,
  type ObjectRef,
  type Repository,
} from '@ferry/repository';
import { DatamoverError } from '../errors';
import { locationOf, type RegistryClient } from '../oci/RegistryClient';
import { copyImage, type BlobSource } from './copyImage';
import { describeImageError } from './describeImageError';
import type { PlatformFilter } from './platforms';
import { ImageProgress, type ImageProgressSink } from './progress';

export interface ImageBackupOptions {
  repo: Repository;
  app: string;
  backupId: string;
  /** Image references as the application's pods name them. */
  images: string[];
  client: RegistryClient;
  /** Keep only these platforms of multi-platform images (default: all). */
  platforms?: PlatformFilter[];
  progress?: ImageProgressSink;
  signal?: AbortSignal;
}

export interface ImageBackupItem {
  reference: string;
  digest?: string;
  mediaType?: string;
  blobs: number;
  bytes: number;
  newBytes: number;
  /** Set when this image could not be copied (the others still are). */
  error?: string;
  code?: string;
}

export interface ImageBackupResult {
  type: 'result';
  operation: 'image-backup';
  app: string;
  backupId: string;
  images: ImageBackupItem[];
  /** Pass to `Repository.commitBackup({ images })`. */
  index: ObjectRef;
  stats: {
    images: number;
    failed: number;
    blobs: number;
    bytes: number;
    newBytes: number;
    durationMs: number;
  };
}

/**
 * Copies the images of one backup into the repository and writes its image index. An image
 * that fails is reported with `error` and left out of the index; the others are copied. The
 * index is rewritten after every image (a concurrent garbage collection sees the blobs in use),
 * and at the end every blob it names is checked once more and copied again if it went missing.
 * Throws `IMAGES_FAILED` only when every image failed (the result is on the error).
 */
export async function backupImages(o: ImageBackupOptions): Promise<ImageBackupResult> {
  const started = Date.now();
  const store = new ImageStore(o.repo);
  await o.repo.assertNotCommitted(o.app, o.backupId);
  const references = [...new Set(o.images.map(i => i.trim()).filter(i => i !== ''))];
  const progress = new ImageProgress({ operation: 'image-backup', imagesTotal: references.length, sink: o.progress });
  const entries: ImageEntry[] = [];
  const items: ImageBackupItem[] = [];
  const sources = new Map<string, BlobSource>();
  const createdAt = new Date().toISOString();
  const index = (): ImageIndex => ({
    schemaVersion: 2,
    mediaType: IMAGE_INDEX_MEDIA_TYPE,
    annotations: { 'io.ferry.app': o.app, 'io.ferry.backup-id': o.backupId, 'io.ferry.created': createdAt },
    manifests: entries,
  });
  for (const reference of references) {
    if (o.signal?.aborted) throw new DatamoverError('INTERRUPTED', 'image backup stopped by a signal');
    progress.report('image', reference);
    try {
      const c = await copyImage({ reference, client: o.client, store, platforms: o.platforms, progress });
      entries.push(c.entry);
      for (const [d, s] of c.sources) sources.set(d, s);
      items.push({ reference, digest: c.entry.digest, mediaType: c.entry.mediaType, blobs: c.blobs, bytes: c.bytes, newBytes: c.newBytes });
      await store.writeIndex(index());
    } catch (e) {
      const { code, message } = describeImageError(e);
      if (code === 'TARGET_UNREACHABLE' || code === 'CREDENTIALS_INVALID' || code === 'NO_SPACE' || code === 'ALREADY_COMMITTED') {
        throw e; // the repository, not the image: nothing else will work either
      }
      items.push({ reference, blobs: 0, bytes: 0, newBytes: 0, error: message, code });
    }
    progress.imagesDone++;
  }
  const ref = await store.writeIndex(index());
  await recheckBlobs({ store, client: o.client, index: index(), sources });
  progress.report('done');
  const ok = items.filter(i => !i.error);
  const result: ImageBackupResult = {
    type: 'result',
    operation: 'image-backup',
    app: o.app,
    backupId: o.backupId,
    images: items,
    index: ref,
    stats: {
      images: ok.length,
      failed: items.length - ok.length,
      blobs: ok.reduce((n, i) => n + i.blobs, 0),
      bytes: ok.reduce((n, i) => n + i.bytes, 0),
      newBytes: ok.reduce((n, i) => n + i.newBytes, 0),
      durationMs: Date.now() - started,
    },
  };
  if (items.length > 0 && ok.length === 0) {
    throw new DatamoverError('IMAGES_FAILED', `none of the ${items.length} image(s) could be backed up; first: ${items[0].error}`, { result });
  }
  return result;
}

/** Every blob the final index names is still there (else copied again from its source). */
async function recheckBlobs(o: { store: ImageStore; client: RegistryClient; index: ImageIndex; sources: Map<string, BlobSource> }) {
  for (const b of imageIndexDigests(o.index)) {
    if (await o.store.hasBlob(b.digest, b.size)) continue;
    const s = o.sources.get(b.digest);
    if (!s) throw new DatamoverError('INTERNAL', `blob ${b.digest} went missing and its source is unknown`);
    if (s.kind === 'manifest') await o.store.ensureBlobBytes(s.bytes);
    else await o.store.ensureBlob({ digest: b.digest, size: s.size, open: async () => (await o.client.getBlob(locationOf(s.ref), b.digest)).body });
  }
}
