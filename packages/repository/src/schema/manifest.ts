import { z } from 'zod';
import { objectRefSchema } from './objectRef';
import { volumeProtectionSchema } from './volumeRecord';

export const MANIFEST_VERSION = 1;

export const manifestVolumeSchema = z.object({
  pvc: z.string(),
  kind: z.enum(['full', 'incremental']),
  parentBackupId: z.string().nullable(),
  virtualSize: z.number().int().nonnegative(),
  /** Bytes of this backup's own image (not its parents'). */
  storedBytes: z.number().int().nonnegative(),
  record: objectRefSchema,
  /** From the volume record: compression codec or LUKS key id. */
  protection: volumeProtectionSchema.optional(),
});
export type ManifestVolume = z.infer<typeof manifestVolumeSchema>;

/**
 * `apps/<app>/backups/<id>/manifest.json`: written last; its presence is the commit. It lists
 * every object of the backup with its digest, so the backup is verifiable from the target alone.
 */
export const manifestSchema = z.object({
  formatVersion: z.literal(MANIFEST_VERSION),
  kind: z.literal('ferry.backup'),
  app: z.string(),
  backupId: z.string(),
  createdAt: z.string().datetime(),
  committedAt: z.string().datetime(),
  volumes: z.array(manifestVolumeSchema),
  /** Other objects of the backup (resources YAML, image index …). */
  objects: z.array(objectRefSchema),
  /** The backup's image index (`images/index/<app>/<id>.json`), when images were backed up. */
  images: objectRefSchema.optional(),
  /**
   * How the backup is protected (absent: in the clear, not locked). `encryption.keyId`: the
   * repository key its objects were sealed with (also in each envelope's header); `lock`: the
   * S3 Object Lock retention its objects got at commit (a later overlay may extend its volume
   * images' retention, never shorten it).
   */
  protection: z
    .object({
      encryption: z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/), envelope: z.literal(1) }).optional(),
      lock: z.object({ mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), retainUntil: z.string().datetime() }).optional(),
    })
    .optional(),
  /** Free-form facts the writer wants kept (plan, phase, labels); not interpreted here. */
  metadata: z.record(z.string(), z.unknown()).default({}),
});
export type Manifest = z.infer<typeof manifestSchema>;
