import { isRepositoryError, type RepositoryError } from '@ferry/repository';
import { isRegistryError, type RegistryErrorCode } from './oci/errors';

/**
 * Every way the datamover can fail, with a distinct process exit code. The code is also in
 * the final JSON line and the termination message, so a Job's caller can act on it
 * (e.g. PARENT_UNUSABLE → run a full backup instead).
 */
export const EXIT_CODES = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  TARGET_UNREACHABLE: 10,
  CREDENTIALS_INVALID: 11,
  DEVICE_MISSING: 12,
  DEVICE_TOO_SMALL: 13,
  PARENT_UNUSABLE: 14,
  NO_SPACE: 15,
  INTEGRITY: 16,
  LOCK_HELD: 17,
  NOT_FOUND: 18,
  ALREADY_COMMITTED: 19,
  REPOSITORY_FORMAT: 20,
  INTERRUPTED: 21,
  IMAGES_FAILED: 22,
  REGISTRY_UNREACHABLE: 23,
  REGISTRY_DENIED: 24,
  REGISTRY_ERROR: 25,
  LOCKED: 26,
} as const;

export type DatamoverErrorCode = keyof typeof EXIT_CODES;

export class DatamoverError extends Error {
  readonly code: DatamoverErrorCode;
  /** What the caller can do about it. */
  readonly hint?: string;
  /** A result that still holds (per-item outcomes when every item failed). */
  readonly result?: object;
  constructor(code: DatamoverErrorCode, message: string, options?: { cause?: unknown; hint?: string; result?: object }) {
    super(message, { cause: options?.cause });
    this.code = code;
    this.hint = options?.hint;
    this.result = options?.result;
    this.name = 'DatamoverError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

const FROM_REPOSITORY: Record<RepositoryError['code'], DatamoverErrorCode> = {
  TARGET_UNREACHABLE: 'TARGET_UNREACHABLE',
  CREDENTIALS_INVALID: 'CREDENTIALS_INVALID',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_COMMITTED',
  INTEGRITY: 'INTEGRITY',
  LOCK_HELD: 'LOCK_HELD',
  NO_SPACE: 'NO_SPACE',
  INVALID_INPUT: 'USAGE',
  UNSUPPORTED_FORMAT: 'REPOSITORY_FORMAT',
  KEY_UNAVAILABLE: 'CREDENTIALS_INVALID',
  LOCKED: 'LOCKED',
};

const FROM_REGISTRY: Record<RegistryErrorCode, DatamoverErrorCode> = {
  INVALID_REFERENCE: 'USAGE',
  UNREACHABLE: 'REGISTRY_UNREACHABLE',
  UNAUTHORIZED: 'REGISTRY_DENIED',
  DENIED: 'REGISTRY_DENIED',
  NOT_FOUND: 'NOT_FOUND',
  DIGEST_MISMATCH: 'INTEGRITY',
  UNSUPPORTED: 'REGISTRY_ERROR',
  PROTOCOL: 'REGISTRY_ERROR',
};

/** Turns anything thrown into a DatamoverError (unknown errors become INTERNAL). */
export function toDatamoverError(e: unknown): DatamoverError {
  if (e instanceof DatamoverError) return e;
  if (isRepositoryError(e)) return new DatamoverError(FROM_REPOSITORY[e.code], e.message, { cause: e });
  if (isRegistryError(e)) return new DatamoverError(FROM_REGISTRY[e.code], e.message, { cause: e });
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new DatamoverError('NO_SPACE', `no space left: ${(e as Error).message}`, { cause: e });
  }
  const q = e as { name?: string; kind?: string; message?: string } | undefined;
  if (q?.name === 'Qcow2Error' && q.kind === 'corrupt') {
    return new DatamoverError('INTEGRITY', `image is corrupt: ${q.message}`, { cause: e });
  }
  if (q?.name === 'Qcow2Error' && q.kind === 'unsupported') {
    return new DatamoverError('REPOSITORY_FORMAT', `image uses an unsupported feature: ${q.message}`, { cause: e });
  }
  return new DatamoverError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}
