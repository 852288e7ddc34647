import type { ImageDescriptor, ImageEntry, ImageStore } from '@ferry/repository';
import { isImageManifestMediaType, isIndexMediaType } from '../oci/mediaTypes';
import { RegistryError } from '../oci/errors';
import { parseImageReference, type ImageReference } from '../oci/reference';
import { locationOf, type RegistryClient } from '../oci/RegistryClient';
import { imageManifestSchema, indexManifestSchema, parseManifestBytes, type ContentDescriptor } from './manifestContent';
import { platformMatches, platformName, type PlatformFilter } from './platforms';
import type { ImageProgress } from './progress';

export interface CopiedImage {
  entry: ImageEntry;
  /** Config and layer blobs. */
  blobs: number;
  /** Bytes of every object of the image (manifests, configs, layers). */
  bytes: number;
  /** Bytes this copy stored (the rest was already in the repository). */
  newBytes: number;
  /** How to fetch each object again (the commit-time re-check after a concurrent gc). */
  sources: Map<string, BlobSource>;
}

export type BlobSource =
  | { kind: 'manifest'; bytes: Buffer }
  | { kind: 'blob'; ref: ImageReference; size: number };

const toDescriptor = (d: ContentDescriptor): ImageDescriptor => ({
  mediaType: d.mediaType,
  digest: d.digest,
  size: d.size,
  ...(d.platform ? { platform: { os: d.platform.os, architecture: d.platform.architecture, ...(d.platform.variant ? { variant: d.platform.variant } : {}) } } : {}),
});

/**
 * Copies one image from its registry into the repository: the manifest (an index with its
 * platform manifests, restricted to `platforms` when given), then every config and layer blob
 * the repository does not hold yet. Manifests are stored byte-exact under their digests.
 */
export async function copyImage(o: {
  reference: string;
  client: RegistryClient;
  store: ImageStore;
  platforms?: PlatformFilter[];
  progress: ImageProgress;
}): Promise<CopiedImage> {
  const ref = parseImageReference(o.reference);
  const top = await o.client.getManifest(ref);
  const sources = new Map<string, BlobSource>();
  const children: ImageDescriptor[] = [];
  const blobs = new Map<string, ContentDescriptor>();
  let topBytes = top.bytes;
  let sourceDigest: string | undefined;
  const addImageManifest = (bytes: Buffer, what: string) => {
    const m = parseManifestBytes(imageManifestSchema, bytes, what);
    for (const d of [m.config, ...m.layers]) {
      if (d.urls?.length) throw new RegistryError('UNSUPPORTED', `${what} has a foreign layer ${d.digest} (not distributable)`);
      blobs.set(d.digest, d);
    }
  };
  if (isIndexMediaType(top.mediaType)) {
    const index = parseManifestBytes(indexManifestSchema, top.bytes, ref.canonical);
    let chosen = index.manifests;
    if (o.platforms) {
      chosen = index.manifests.filter(m => platformMatches(o.platforms!, m.platform));
      if (chosen.length === 0) {
        const have = index.manifests.map(m => (m.platform ? platformName(m.platform) : '?')).join(', ');
        throw new RegistryError('NOT_FOUND', `${ref.canonical} has no manifest for ${o.platforms.map(platformName).join(', ')} (it has ${have})`);
      }
      if (chosen.length < index.manifests.length) {
        // the stored index lists only the kept platforms: a new index, with a digest of its own
        topBytes = Buffer.from(JSON.stringify({ ...index, manifests: chosen }));
        sourceDigest = top.digest;
      }
    }
    for (const c of chosen) {
      const child = await o.client.getManifest({ ...ref, tag: undefined, digest: c.digest });
      if (!isImageManifestMediaType(child.mediaType)) {
        throw new RegistryError('UNSUPPORTED', `${ref.canonical} lists ${c.digest} of type ${child.mediaType} (nested indexes are not supported)`);
      }
      addImageManifest(child.bytes, `${ref.canonical}@${c.digest}`);
      sources.set(c.digest, { kind: 'manifest', bytes: child.bytes });
      children.push(toDescriptor({ ...c, mediaType: child.mediaType }));
    }
  } else if (isImageManifestMediaType(top.mediaType)) {
    addImageManifest(top.bytes, ref.canonical);
  } else {
    throw new RegistryError('UNSUPPORTED', `${ref.canonical} is a ${top.mediaType}, not an image manifest or index`);
  }
  let bytes = 0;
  let newBytes = 0;
  const loc = locationOf(ref);
  for (const b of blobs.values()) {
    const { stored } = await o.store.ensureBlob({
      digest: b.digest,
      size: b.size,
      source: `${ref.domain}/${ref.repository}`,
      open: async () => (await o.client.getBlob(loc, b.digest)).body,
    });
    bytes += b.size;
    o.progress.bytesCopied += stored ? b.size : 0;
    if (stored) {
      newBytes += b.size;
      o.progress.bytesWritten += b.size;
    }
    sources.set(b.digest, { kind: 'blob', ref, size: b.size });
    o.progress.report('blob', o.reference);
  }
  for (const m of [...sources.values()].flatMap(s => (s.kind === 'manifest' ? [s.bytes] : [])).concat([topBytes])) {
    const { digest, stored } = await o.store.ensureBlobBytes(m);
    sources.set(digest, { kind: 'manifest', bytes: m });
    bytes += m.length;
    if (stored) newBytes += m.length;
  }
  const topDigest = [...sources].find(([, s]) => s.kind === 'manifest' && s.bytes === topBytes)![0];
  const entry: ImageEntry = {
    reference: o.reference,
    canonical: ref.canonical,
    mediaType: top.mediaType,
    digest: topDigest,
    size: topBytes.length,
    ...(sourceDigest ? { sourceDigest } : {}),
    ...(o.platforms && children.length > 0 ? { platforms: o.platforms.map(platformName) } : {}),
    manifests: children,
    blobs: [...blobs.values()].map(toDescriptor),
  };
  return { entry, blobs: blobs.size, bytes, newBytes, sources };
}
