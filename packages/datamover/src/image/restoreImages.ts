import { ImageStore, type ImageEntry, type Repository } from '@ferry/repository';
import { DatamoverError } from '../errors';
import { RegistryError } from '../oci/errors';
import { parseImageReference, type ImageReference } from '../oci/reference';
import type { RegistryClient } from '../oci/RegistryClient';
import { describeImageError } from './describeImageError';
import { alternativeTag, destinationOf } from './destination';
import { ImageProgress, type ImageProgressSink } from './progress';
import { pushImage } from './pushImage';

export interface ImageRestoreOptions {
  repo: Repository;
  app: string;
  backupId: string;
  client: RegistryClient;
  /** Destination registry `host[:port]`. */
  registry: string;
  /** Repository path prefix in the destination registry (e.g. `restored/shop`). */
  repository: string;
  /** Only these backed-up images (as given at backup time, or their canonical names); default all. */
  images?: string[];
  /** Replace a tag that holds a different image (default: push under a new tag). */
  overrideIfExist?: boolean;
  progress?: ImageProgressSink;
}

export interface ImageRestoreItem {
  original: string;
  restored?: string;
  digest?: string;
  tagChanged: boolean;
  pushedBlobs: number;
  skippedBlobs: number;
  error?: string;
  code?: string;
}

export interface ImageRestoreResult {
  type: 'result';
  operation: 'image-restore';
  app: string;
  backupId: string;
  images: ImageRestoreItem[];
}

/**
 * Pushes the images of a committed backup to a registry. The tag is the original one; when it
 * already names a different image, the image goes under `alternativeTag` unless
 * `overrideIfExist`; when it already names this very image, nothing is pushed. Per-image
 * failures are reported; throws `IMAGES_FAILED` only when every image failed.
 */
export async function restoreImages(o: ImageRestoreOptions): Promise<ImageRestoreResult> {
  const store = new ImageStore(o.repo);
  const { index } = await store.readIndex(o.app, o.backupId);
  const chosen: Array<{ original: string; entry?: ImageEntry }> = [];
  if (o.images && o.images.length > 0) {
    for (const want of o.images) {
      const canonical = parseImageReference(want).canonical;
      const entry = index.manifests.find(e => e.reference === want || e.canonical === canonical);
      chosen.push({ original: want, entry });
    }
  } else {
    chosen.push(...index.manifests.map(entry => ({ original: entry.reference, entry })));
  }
  const progress = new ImageProgress({ operation: 'image-restore', imagesTotal: chosen.length, sink: o.progress });
  const items: ImageRestoreItem[] = [];
  for (const c of chosen) {
    progress.report('image', c.original);
    try {
      if (!c.entry) throw new DatamoverError('NOT_FOUND', `image ${c.original} is not in backup ${o.backupId} of ${o.app}`);
      items.push(await restoreOne({ ...o, progress, store, entry: c.entry }));
    } catch (e) {
      const { code, message } = describeImageError(e);
      items.push({ original: c.original, tagChanged: false, pushedBlobs: 0, skippedBlobs: 0, error: message, code });
    }
    progress.imagesDone++;
  }
  progress.report('done');
  const result: ImageRestoreResult = { type: 'result', operation: 'image-restore', app: o.app, backupId: o.backupId, images: items };
  if (items.length > 0 && items.every(i => i.error)) {
    throw new DatamoverError('IMAGES_FAILED', `none of the ${items.length} image(s) could be restored; first: ${items[0].error}`, { result });
  }
  return result;
}

async function restoreOne(o: Omit<ImageRestoreOptions, 'progress'> & { store: ImageStore; entry: ImageEntry; progress: ImageProgress }): Promise<ImageRestoreItem> {
  const wanted = destinationOf({ registry: o.registry, prefix: o.repository, canonical: o.entry.canonical, digest: o.entry.digest });
  let dest: ImageReference = wanted;
  for (let attempt = 1; ; attempt++) {
    const existing = await currentDigest(o.client, dest);
    if (existing === o.entry.digest) {
      return { original: o.entry.reference, restored: dest.canonical, digest: o.entry.digest, tagChanged: dest !== wanted, pushedBlobs: 0, skippedBlobs: o.entry.blobs.length };
    }
    if (existing === undefined || o.overrideIfExist) break;
    if (attempt > 20) throw new DatamoverError('REGISTRY_ERROR', `tags ${wanted.tag}-ferry-… of ${wanted.canonical} are all taken by other images`);
    dest = parseImageReference(`${o.registry}/${wanted.repository}:${alternativeTag(wanted.tag!, o.backupId, attempt)}`);
  }
  const counts = await pushImage({ entry: o.entry, dest, client: o.client, store: o.store, progress: o.progress });
  return { original: o.entry.reference, restored: dest.canonical, digest: o.entry.digest, tagChanged: dest !== wanted, ...counts };
}

async function currentDigest(client: RegistryClient, ref: ImageReference): Promise<string | undefined> {
  try {
    return (await client.resolve(ref)).digest;
  } catch (e) {
    if (e instanceof RegistryError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
}
