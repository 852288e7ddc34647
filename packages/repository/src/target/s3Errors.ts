import {
  CredentialsError,
  NoSpaceError,
  ObjectLockedError,
  ObjectNotFoundError,
  RepositoryError,
  TargetUnreachableError,
} from '../errors';

interface S3LikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

const CREDENTIAL_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
  'XAdminUserNotFound', // versitygw: unknown access key id (HTTP 404)
]);

/** The HTTP status of an SDK error, if it has one. */
export function s3Status(e: unknown): number | undefined {
  return (e as S3LikeError | undefined)?.$metadata?.httpStatusCode;
}

/** Maps an AWS SDK error for `key` on target `where` to the repository's typed errors. */
export function mapS3Error(e: unknown, key: string, where: string): Error {
  if (e instanceof RepositoryError) return e;
  const err = (e ?? {}) as S3LikeError;
  const name = err.name ?? err.Code ?? '';
  const code = err.code ?? '';
  const status = s3Status(e);
  // AWS and versitygw answer 403 AccessDenied "… protected by object lock": not the credentials
  if (status === 403 && /object lock/i.test(err.message ?? '')) {
    return new ObjectLockedError({ key }, { cause: e });
  }
  if (CREDENTIAL_NAMES.has(name) || status === 403 || status === 401) {
    return new CredentialsError(
      `S3 target ${where} rejected the credentials for ${key} (${name || status})`,
      { cause: e },
    );
  }
  if (name === 'NoSuchBucket') {
    return new TargetUnreachableError(`bucket of S3 target ${where} does not exist`, { cause: e });
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new ObjectNotFoundError(key, { cause: e });
  }
  if (name === 'QuotaExceeded' || name === 'StorageFull' || status === 507) {
    return new NoSpaceError(`S3 target ${where} is out of space writing ${key}`, { cause: e });
  }
  const cause = (e as { cause?: { code?: string } }).cause;
  if (
    NETWORK_CODES.has(code) ||
    NETWORK_CODES.has(cause?.code ?? '') ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    /ECONNREFUSED|ENOTFOUND|socket hang up|getaddrinfo/.test(err.message ?? '')
  ) {
    return new TargetUnreachableError(
      `S3 target ${where} is unreachable (${code || cause?.code || name || err.message})`,
      { cause: e },
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}
