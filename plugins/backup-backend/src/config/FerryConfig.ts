import { z } from 'zod';
import { cronProblem } from '../schedule/cronSchedule';
import {
  checkProtection,
  compressionConfigSchema,
  encryptionConfigSchema,
  objectLockConfigSchema,
} from '../protection/protectionConfig';

const nameSchema = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label (lower-case letters, digits, -)')
  .max(63);

const filesystemTargetSchema = z.object({
  name: nameSchema,
  type: z.literal('filesystem'),
  path: z.string().min(1),
  volume: z
    .object({ nfs: z.object({ server: z.string().min(1), path: z.string().startsWith('/') }).strict() })
    .strict()
    .optional(),
  encryption: encryptionConfigSchema.optional(),
  /** Refused with a message (checkProtection): kept here so that it is not silently dropped. */
  objectLock: z.unknown().optional(),
});

const s3TargetSchema = z.object({
  name: nameSchema,
  type: z.literal('s3'),
  bucket: z.string().min(3),
  prefix: z.string().optional(),
  endpoint: z.string().url().optional(),
  region: z.string().default('us-east-1'),
  forcePathStyle: z.boolean().default(false),
  credentials: z
    .object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) })
    .optional(),
  encryption: encryptionConfigSchema.optional(),
  objectLock: objectLockConfigSchema.optional(),
});

export const targetConfigSchema = z.discriminatedUnion('type', [
  filesystemTargetSchema,
  s3TargetSchema,
]);

export const policyConfigSchema = z.object({
  name: nameSchema,
  target: nameSchema.optional(),
  schedule: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      const problem = value === undefined ? undefined : cronProblem(value);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    }),
  keepLast: z.number().int().positive().optional(),
  fullEvery: z.number().int().positive().default(10),
  skipImageBackup: z.boolean().default(false),
  /** Compressed volume images (not on an encrypted target). */
  compression: compressionConfigSchema.optional(),
  filter: z.record(z.string()).optional(),
});

const quantitySchema = z.object({ cpu: z.string().optional(), memory: z.string().optional() });

export const datamoverConfigSchema = z.object({
  image: z.string().min(1).default('ferry.io/datamover:dev'),
  serviceAccountName: z.string().optional(),
  parallelism: z.number().int().positive().max(64).default(4),
  nodeSelector: z.record(z.string()).optional(),
  resources: z
    .object({ requests: quantitySchema.optional(), limits: quantitySchema.optional() })
    .optional(),
});

export const ferryConfigSchema = z
  .object({
    targets: z.array(targetConfigSchema).default([]),
    defaultTarget: nameSchema.optional(),
    policies: z.array(policyConfigSchema).default([]),
    datamover: datamoverConfigSchema.default({}),
    permissions: z
      .object({ adminRefs: z.array(z.string()).default([]) })
      .default({}),
    images: z
      .object({
        insecureRegistries: z.array(z.string().min(1)).default([]),
        checkTimeoutSeconds: z.number().positive().max(60).default(5),
        copyAuthSecret: z.boolean().default(false),
      })
      .default({}),
    controller: z
      .object({
        leaseNamespace: z.string().min(1).default('kube-system'),
        namespace: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name (RFC 1123 label)')
          .default('ferry-system'),
      })
      .default({}),
  })
  .superRefine((value, ctx) => {
    const targetNames = new Set<string>();
    value.targets.forEach((target, index) => {
      if (targetNames.has(target.name)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['targets', index, 'name'],
          message: `duplicate target name '${target.name}'`,
        });
      }
      targetNames.add(target.name);
    });
    if (value.defaultTarget && !targetNames.has(value.defaultTarget)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['defaultTarget'],
        message: `names no configured target ('${value.defaultTarget}')`,
      });
    }
    checkProtection(value, ctx);
    value.policies.forEach((policy, index) => {
      if (policy.target && !targetNames.has(policy.target)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['policies', index, 'target'],
          message: `names no configured target ('${policy.target}')`,
        });
      }
    });
  });

export type TargetConfig = z.infer<typeof targetConfigSchema>;
export type PolicyConfig = z.infer<typeof policyConfigSchema>;
export type DatamoverConfig = z.infer<typeof datamoverConfigSchema>;
export type FerryConfig = z.infer<typeof ferryConfigSchema>;
