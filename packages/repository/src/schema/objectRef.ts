import { z } from 'zod';

/** `sha256:<64 hex>` */
export const sha256DigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>');

/** A stored object and what it must read back as. */
export const objectRefSchema = z.object({
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  digest: sha256DigestSchema,
});
export type ObjectRef = z.infer<typeof objectRefSchema>;
