import { z } from 'zod';

export const REPOSITORY_FORMAT = 'ferry.repository';
export const REPOSITORY_VERSION = 1;

/** `ferry.json` at the root of a target: identifies the repository and its format version. */
export const repositoryInfoSchema = z.object({
  format: z.literal(REPOSITORY_FORMAT),
  version: z.number().int().positive(),
  createdAt: z.string().datetime(),
  /** Encryption of stored objects; `none` in version 1 (the target's own encryption applies). */
  encryption: z.discriminatedUnion('type', [z.object({ type: z.literal('none') })]),
  /** Block size of the `.sums` digests of images. */
  imageDigestBlockSize: z.number().int().positive(),
});
export type RepositoryInfo = z.infer<typeof repositoryInfoSchema>;
