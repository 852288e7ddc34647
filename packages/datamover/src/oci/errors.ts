/**
 * Typed errors of the OCI distribution client. `code` is stable; callers map it (the CLI to an
 * exit code or a per-image error, the backend to a validation reason) without parsing messages.
 */
export type RegistryErrorCode =
  | 'INVALID_REFERENCE'
  | 'UNREACHABLE'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'UNSUPPORTED'
  | 'PROTOCOL';

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  /** HTTP status when the registry answered. */
  readonly status?: number;
  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, { cause: options?.cause });
    this.code = code;
    this.status = options?.status;
    this.name = 'RegistryError';
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}
