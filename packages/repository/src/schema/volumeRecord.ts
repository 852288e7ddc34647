import { z } from 'zod';
import { objectRefSchema, sha256DigestSchema } from './objectRef';

/**
 * How a volume image is protected: compressed clusters (qemu's codecs) or LUKS encryption
 * (never both: qemu's format has no encrypted compressed cluster), and the id of the repository
 * key whose bytes are the LUKS passphrase.
 */
export const volumeProtectionSchema = z.object({
  compression: z.enum(['deflate', 'zstd']).optional(),
  encryption: z.object({ format: z.literal('luks'), keyId: z.string().regex(/^[0-9a-f]{16}$/) }).optional(),
});
export type VolumeProtection = z.infer<typeof volumeProtectionSchema>;

/**
 * `apps/<app>/volumes/<pvc>/<id>.json`, written by the datamover after the image is complete.
 * The parent link carries the parent record's digest, so a chain is verified link by link
 * from the top manifest down to the base image.
 */
export const volumeRecordSchema = z.object({
  formatVersion: z.literal(1),
  app: z.string(),
  pvc: z.string(),
  backupId: z.string(),
  kind: z.enum(['full', 'incremental']),
  parent: z
    .object({ backupId: z.string(), record: objectRefSchema })
    .nullable(),
  virtualSize: z.number().int().nonnegative(),
  clusterSize: z.number().int().positive(),
  image: z.object({
    key: z.string(),
    size: z.number().int().nonnegative(),
    /** SHA-256 of each `blockSize` block of the image, in the `.sums` object. */
    blockSize: z.number().int().positive(),
    sums: objectRefSchema,
  }),
  index: objectRefSchema,
  stats: z.object({
    bytesRead: z.number().int().nonnegative(),
    clusters: z.number().int().nonnegative(),
    dataClusters: z.number().int().nonnegative(),
    zeroClusters: z.number().int().nonnegative(),
    changedClusters: z.number().int().nonnegative(),
    durationMs: z.number().nonnegative(),
  }),
  source: z.object({ changedRanges: z.boolean() }).optional(),
  /** How the image's clusters are stored (absent: plain, as before issue 20). */
  protection: volumeProtectionSchema.optional(),
  createdAt: z.string().datetime(),
});
export type VolumeRecord = z.infer<typeof volumeRecordSchema>;

/** `apps/<app>/volumes/<pvc>/<id>.keep`: the backup is gone but its image is still needed. */
export const keepMarkerSchema = z.object({
  formatVersion: z.literal(1),
  backupId: z.string(),
  record: objectRefSchema,
  deletedAt: z.string().datetime(),
  neededBy: z.array(z.string()),
  /** The image is no longer needed but under Object Lock until then: removed after it. */
  lockedUntil: z.string().datetime().optional(),
});
export type KeepMarker = z.infer<typeof keepMarkerSchema>;

export { sha256DigestSchema };
