import type { ImageEntry, ImageStore } from '@ferry/repository';
import { IntegrityError } from '@ferry/repository';
import { RegistryError } from '../oci/errors';
import type { ImageReference } from '../oci/reference';
import { locationOf, type RegistryClient } from '../oci/RegistryClient';
import type { ImageProgress } from './progress';

/**
 * Pushes one backed-up image to `dest`: blobs the destination lacks (HEAD first), then the
 * platform manifests by digest, then the top manifest under the tag, all byte-exact from the
 * repository (every byte checked against its digest). Returns blob counts.
 */
export async function pushImage(o: {
  entry: ImageEntry;
  dest: ImageReference;
  client: RegistryClient;
  store: ImageStore;
  progress: ImageProgress;
}): Promise<{ pushedBlobs: number; skippedBlobs: number }> {
  const loc = locationOf(o.dest);
  let pushedBlobs = 0;
  let skippedBlobs = 0;
  for (const b of o.entry.blobs) {
    if (await o.client.blobExists(loc, b.digest, 'pull,push')) {
      skippedBlobs++;
      continue;
    }
    try {
      await o.client.putBlob(loc, { digest: b.digest, size: b.size, body: await o.store.blobStream(b.digest, b.size) });
    } catch (e) {
      // the registry may have rejected the bytes before our own check finished: find out which
      if (e instanceof RegistryError) await o.store.getBlob(b.digest, b.size);
      throw e;
    }
    pushedBlobs++;
    o.progress.bytesCopied += b.size;
    o.progress.bytesWritten += b.size;
    o.progress.report('blob', o.entry.reference);
  }
  for (const m of o.entry.manifests) {
    const bytes = await o.store.getBlob(m.digest, m.size);
    await o.client.putManifest(loc, { reference: m.digest, bytes, mediaType: m.mediaType });
  }
  const bytes = await o.store.getBlob(o.entry.digest, o.entry.size);
  const pushed = await o.client.putManifest(loc, { reference: o.dest.tag!, bytes, mediaType: o.entry.mediaType });
  if (pushed !== o.entry.digest) {
    throw new IntegrityError(o.entry.digest, `pushed manifest has digest ${pushed}`);
  }
  const check = await o.client.resolve(o.dest);
  if (check.digest !== o.entry.digest) {
    throw new RegistryError('DIGEST_MISMATCH', `${o.dest.canonical} resolves to ${check.digest} after the push of ${o.entry.digest}`);
  }
  return { pushedBlobs, skippedBlobs };
}
