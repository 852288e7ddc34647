import { z } from 'zod';

const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Kubernetes object name (lower-case letters, digits, -, .)');

/**
 * `ferry.targets[].encryption`: the repository key lives in a Kubernetes Secret, never in
 * app-config, a Backup's spec, a log, an event, a status or an API answer. Every data key of
 * the Secret is a key Ferry reads with; `key` names the one it encrypts new backups with (keep
 * the previous one under another name when rotating, so older backups stay readable).
 */
export const encryptionConfigSchema = z
  .object({
    secret: z
      .object({
        name: dnsSubdomain,
        /** Default: Ferry's namespace (`ferry.controller.namespace`). */
        namespace: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name (RFC 1123 label)')
          .optional(),
        /** The data key to encrypt with (default `key`). */
        key: z
          .string()
          .regex(/^[-._a-zA-Z0-9]{1,253}$/, 'must be a Secret data key (letters, digits, -, _, .)')
          .default('key'),
        /** The cluster holding the Secret (default: the first configured cluster). */
        cluster: z.string().min(1).optional(),
      })
      .strict(),
    /** Also read objects stored in the clear (backups made before encryption was turned on). */
    readUnencrypted: z.boolean().default(false),
  })
  .strict();

/** `ferry.targets[].objectLock`: S3 Object Lock retention of every committed backup. */
export const objectLockConfigSchema = z
  .object({
    mode: z.enum(['governance', 'compliance']),
    days: z.number().int().min(1).max(36500),
  })
  .strict();

export const compressionConfigSchema = z.enum(['deflate', 'zstd']);

export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;
export type ObjectLockConfig = z.infer<typeof objectLockConfigSchema>;

interface ProtectionView {
  targets: Array<{ name: string; type: string; encryption?: unknown; objectLock?: unknown }>;
  policies: Array<{ target?: string; compression?: string }>;
  defaultTarget?: string;
}

/**
 * What cannot be combined, named by field: a lock on a filesystem target (a folder cannot keep
 * its owner from deleting files), and compression on a policy whose target is encrypted (its
 * volumes are LUKS images, and qemu's format has no encrypted compressed clusters: qemu-img
 * refuses `-c` with `encrypt.format=luks` too).
 */
export function checkProtection(value: ProtectionView, ctx: z.RefinementCtx): void {
  value.targets.forEach((target, index) => {
    if (target.type === 'filesystem' && target.objectLock !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['targets', index, 'objectLock'],
        message: `target '${target.name}' is a filesystem target, which cannot lock objects (S3 Object Lock only): remove objectLock or use an S3 bucket created with Object Lock`,
      });
    }
  });
  value.policies.forEach((policy, index) => {
    if (!policy.compression) return;
    const name = policy.target ?? value.defaultTarget ?? value.targets[0]?.name;
    const at = value.targets.findIndex(t => t.name === name);
    if (at >= 0 && value.targets[at].encryption) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['policies', index, 'compression'],
        message: `target '${name}' is encrypted (ferry.targets[${at}].encryption): its volumes are LUKS images and qemu's format has no encrypted compressed clusters, so compression and encryption cannot be combined`,
      });
    }
  });
}
