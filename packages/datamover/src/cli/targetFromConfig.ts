import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createTarget, type Target, type TargetConfig } from '@ferry/repository';
import { DatamoverError } from '../errors';

/** Target options as flags; each has a `FERRY_*` environment twin (flags win). */
export const TARGET_FLAGS = {
  'target-config': { env: 'FERRY_TARGET_CONFIG_FILE', help: 'JSON file with the target (no secrets)' },
  'target-type': { env: 'FERRY_TARGET_TYPE', help: 'filesystem | s3' },
  'target-path': { env: 'FERRY_TARGET_PATH', help: 'folder of a filesystem target (NFS mount)' },
  's3-bucket': { env: 'FERRY_S3_BUCKET', help: 'bucket' },
  's3-prefix': { env: 'FERRY_S3_PREFIX', help: 'key prefix inside the bucket' },
  's3-endpoint': { env: 'FERRY_S3_ENDPOINT', help: 'S3-compatible endpoint URL' },
  's3-region': { env: 'FERRY_S3_REGION', help: 'region (default AWS_REGION or us-east-1)' },
  's3-force-path-style': { env: 'FERRY_S3_FORCE_PATH_STYLE', help: 'true for path-style URLs' },
  's3-credentials-dir': {
    env: 'FERRY_S3_CREDENTIALS_DIR',
    help: 'mounted Secret: files accessKeyId, secretAccessKey [, sessionToken]',
  },
  's3-part-size': { env: 'FERRY_S3_PART_SIZE', help: 'multipart part size in bytes (>= 5 MiB)' },
  's3-queue-size': { env: 'FERRY_S3_QUEUE_SIZE', help: 'parts uploaded in parallel' },
} as const;

export type TargetFlag = keyof typeof TARGET_FLAGS;

function pick(values: Record<string, unknown>, env: NodeJS.ProcessEnv, flag: TargetFlag): string | undefined {
  const v = values[flag];
  if (typeof v === 'string' && v !== '') return v;
  const e = env[TARGET_FLAGS[flag].env];
  return e === undefined || e === '' ? undefined : e;
}

async function readSecretFile(file: string, what: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (e) {
    throw new DatamoverError('CREDENTIALS_INVALID', `cannot read ${what} from ${file} (${(e as NodeJS.ErrnoException).code})`, { cause: e });
  }
}

/**
 * Builds the target from flags, `FERRY_*` environment and files. Secrets only ever come from
 * files (a mounted Secret: `--s3-credentials-dir`, or `FERRY_S3_ACCESS_KEY_ID_FILE` and
 * `FERRY_S3_SECRET_ACCESS_KEY_FILE`) or from the AWS SDK's own chain (AWS_* environment, web
 * identity): never from the command line.
 */
export async function targetFromConfig(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<Target> {
  let base: Record<string, unknown> = {};
  const configFile = pick(values, env, 'target-config');
  if (configFile) {
    try {
      base = JSON.parse(await fs.readFile(configFile, 'utf8'));
    } catch (e) {
      throw new DatamoverError('USAGE', `target config ${configFile} is not a readable JSON file`, { cause: e });
    }
    if ('secretAccessKey' in base) {
      throw new DatamoverError('USAGE', `target config ${configFile} holds "secretAccessKey": put secrets in a credentials directory`);
    }
  }
  const type = pick(values, env, 'target-type') ?? (base.type as string | undefined);
  const config: Record<string, unknown> = { ...base, type };
  if (type === 'filesystem') {
    config.path = pick(values, env, 'target-path') ?? base.path;
  } else if (type === 's3') {
    const num = (flag: TargetFlag) => {
      const v = pick(values, env, flag);
      return v === undefined ? undefined : Number(v);
    };
    Object.assign(config, {
      bucket: pick(values, env, 's3-bucket') ?? base.bucket,
      prefix: pick(values, env, 's3-prefix') ?? base.prefix,
      endpoint: pick(values, env, 's3-endpoint') ?? base.endpoint,
      region: pick(values, env, 's3-region') ?? base.region,
      forcePathStyle: (pick(values, env, 's3-force-path-style') ?? String(base.forcePathStyle ?? '')) === 'true' || undefined,
      partSize: num('s3-part-size') ?? base.partSize,
      queueSize: num('s3-queue-size') ?? base.queueSize,
    });
    const dir = pick(values, env, 's3-credentials-dir');
    const idFile = env.FERRY_S3_ACCESS_KEY_ID_FILE ?? (dir && path.join(dir, 'accessKeyId'));
    const secretFile = env.FERRY_S3_SECRET_ACCESS_KEY_FILE ?? (dir && path.join(dir, 'secretAccessKey'));
    if (idFile || secretFile) {
      if (!idFile || !secretFile) {
        throw new DatamoverError('USAGE', 'S3 credentials need both an access key id file and a secret access key file');
      }
      config.accessKeyId = await readSecretFile(idFile, 'the S3 access key id');
      config.secretAccessKey = await readSecretFile(secretFile, 'the S3 secret access key');
      const tokenFile = dir && path.join(dir, 'sessionToken');
      const token = tokenFile ? await fs.readFile(tokenFile, 'utf8').catch(() => undefined) : undefined;
      if (token?.trim()) config.sessionToken = token.trim();
    }
  } else {
    throw new DatamoverError('USAGE', `--target-type (or FERRY_TARGET_TYPE) must be "filesystem" or "s3", got ${JSON.stringify(type ?? null)}`);
  }
  for (const k of Object.keys(config)) if (config[k] === undefined) delete config[k];
  try {
    return createTarget(config as TargetConfig);
  } catch (e) {
    throw new DatamoverError('USAGE', (e as Error).message, { cause: e });
  }
}
