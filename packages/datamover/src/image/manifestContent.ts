import { z } from 'zod';
import { RegistryError } from '../oci/errors';

const descriptorSchema = z.object({
  mediaType: z.string().default('application/octet-stream'),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be a sha256 digest'),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  platform: z
    .object({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
    .passthrough()
    .optional(),
});
export type ContentDescriptor = z.infer<typeof descriptorSchema>;

export const imageManifestSchema = z
  .object({ schemaVersion: z.literal(2), config: descriptorSchema, layers: z.array(descriptorSchema) })
  .passthrough();

export const indexManifestSchema = z
  .object({ schemaVersion: z.literal(2), manifests: z.array(descriptorSchema) })
  .passthrough();

/** Parses manifest bytes with a schema; problems name the image and the field. */
export function parseManifestBytes<T extends z.ZodTypeAny>(schema: T, bytes: Buffer, what: string): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new RegistryError('PROTOCOL', `manifest of ${what} is not valid JSON`, { cause: e });
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RegistryError('UNSUPPORTED', `manifest of ${what}: field "${i.path.join('.')}" ${i.message.toLowerCase()}`);
  }
  return r.data;
}
