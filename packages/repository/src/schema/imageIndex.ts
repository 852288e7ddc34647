import { z } from 'zod';
import { sha256DigestSchema } from './objectRef';

export const IMAGE_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';

/** A content descriptor as in OCI (`platform` only on the children of an index). */
export const imageDescriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: sha256DigestSchema,
  size: z.number().int().nonnegative(),
  platform: z
    .object({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
    .optional(),
});
export type ImageDescriptor = z.infer<typeof imageDescriptorSchema>;

/**
 * One backed-up image. `digest`/`mediaType`/`size` describe the top manifest as stored (and as
 * pushed back on restore, byte-exact). For an index restricted to some platforms, the top
 * manifest is a new index listing only those; `sourceDigest` records the registry's original
 * index (its bytes are not kept: its other platforms are not in the backup).
 */
export const imageEntrySchema = imageDescriptorSchema.extend({
  /** The reference as given to the backup (e.g. `nginx:1.27`). */
  reference: z.string().min(1),
  /** Normalised: `docker.io/library/nginx:1.27`. */
  canonical: z.string().min(1),
  /** Digest of the index the registry served, when it was rewritten for `platforms`. */
  sourceDigest: sha256DigestSchema.optional(),
  /** The platforms kept (`os/arch[/variant]`), when the backup was restricted. */
  platforms: z.array(z.string()).optional(),
  /** Platform manifests of an index (empty for a single manifest). */
  manifests: z.array(imageDescriptorSchema),
  /** Every config and layer blob of the image (of every platform manifest), once each. */
  blobs: z.array(imageDescriptorSchema),
});
export type ImageEntry = z.infer<typeof imageEntrySchema>;

/**
 * `images/index/<app>/<backupId>.json`: an OCI-index-like list of the images of one backup.
 * Every digest in it names a blob at `images/blobs/sha256/<hex>` (manifests included).
 */
export const imageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(IMAGE_INDEX_MEDIA_TYPE),
  annotations: z.object({
    'io.ferry.app': z.string(),
    'io.ferry.backup-id': z.string(),
    'io.ferry.created': z.string(),
  }),
  manifests: z.array(imageEntrySchema),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

/** Every blob digest an image index needs (manifests, configs, layers). */
export function imageIndexDigests(index: ImageIndex): Array<{ digest: string; size: number }> {
  const out = new Map<string, number>();
  for (const e of index.manifests) {
    out.set(e.digest, e.size);
    for (const d of [...e.manifests, ...e.blobs]) out.set(d.digest, d.size);
  }
  return [...out].map(([digest, size]) => ({ digest, size }));
}
