import { z } from 'zod';
import { InvalidInputError } from '../errors';
import { FilesystemTarget } from './FilesystemTarget';
import { S3Target } from './S3Target';
import type { Target } from './Target';

/** S3 Object Lock of a target: `governance` or `compliance` (either case), retention in days. */
export const objectLockConfigSchema = z.object({
  mode: z
    .enum(['governance', 'compliance', 'GOVERNANCE', 'COMPLIANCE'])
    .transform(m => m.toUpperCase() as 'GOVERNANCE' | 'COMPLIANCE'),
  days: z.number().int().min(1).max(36500),
});

export const filesystemTargetConfigSchema = z.object({
  type: z.literal('filesystem'),
  /** Folder of the repository (a local path or an NFS mount). */
  path: z.string().min(1),
  /** Refused: a folder cannot keep its owner from deleting files (S3 Object Lock only). */
  objectLock: z
    .never({ errorMap: () => ({ message: 'cannot be set on a filesystem target: only S3 Object Lock makes objects undeletable' }) })
    .optional(),
});

export const s3TargetConfigSchema = z.object({
  type: z.literal('s3'),
  bucket: z.string().min(3).max(63),
  prefix: z.string().optional(),
  endpoint: z.string().url().optional(),
  region: z.string().min(1).optional(),
  forcePathStyle: z.boolean().optional(),
  /** Static credentials; both or neither. Absent: the SDK's default chain (AWS_* env …). */
  accessKeyId: z.string().min(1).optional(),
  secretAccessKey: z.string().min(1).optional(),
  sessionToken: z.string().min(1).optional(),
  partSize: z.number().int().min(5 * 1024 * 1024).max(5 * 1024 * 1024 * 1024).optional(),
  queueSize: z.number().int().min(1).max(64).optional(),
  objectLock: objectLockConfigSchema.optional(),
});

export const targetConfigSchema = z.discriminatedUnion('type', [
  filesystemTargetConfigSchema,
  s3TargetConfigSchema,
]);

export type TargetConfig = z.infer<typeof targetConfigSchema>;

/** Validates a target configuration and opens the target (no I/O yet). */
export function createTarget(config: unknown): Target {
  const parsed = targetConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(
      `invalid target configuration: field "${issue.path.join('.') || 'type'}" ${issue.message.toLowerCase()}`,
    );
  }
  const c = parsed.data;
  if (c.type === 'filesystem') return new FilesystemTarget(c.path);
  if (Boolean(c.accessKeyId) !== Boolean(c.secretAccessKey)) {
    throw new InvalidInputError(
      'invalid target configuration: "accessKeyId" and "secretAccessKey" must be given together',
    );
  }
  return new S3Target({
    bucket: c.bucket,
    prefix: c.prefix,
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: c.forcePathStyle,
    credentials:
      c.accessKeyId && c.secretAccessKey
        ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken }
        : undefined,
    partSize: c.partSize,
    queueSize: c.queueSize,
    objectLock: c.objectLock,
  });
}
