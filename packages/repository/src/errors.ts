/**
 * Typed errors of the repository. Each carries a stable `code` so callers (the datamover CLI,
 * the backend) can map it to an exit code or an HTTP status without parsing messages.
 */
export type RepositoryErrorCode =
  | 'TARGET_UNREACHABLE'
  | 'CREDENTIALS_INVALID'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INTEGRITY'
  | 'LOCK_HELD'
  | 'NO_SPACE'
  | 'INVALID_INPUT'
  | 'UNSUPPORTED_FORMAT';

export class RepositoryError extends Error {
  readonly code: RepositoryErrorCode;
  constructor(code: RepositoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class TargetUnreachableError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TARGET_UNREACHABLE', message, options);
  }
}

export class CredentialsError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CREDENTIALS_INVALID', message, options);
  }
}

export class ObjectNotFoundError extends RepositoryError {
  readonly key: string;
  constructor(key: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', `object ${key} does not exist on the target`, options);
    this.key = key;
  }
}

export class AlreadyExistsError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ALREADY_EXISTS', message, options);
  }
}

export class IntegrityError extends RepositoryError {
  readonly key: string;
  constructor(key: string, detail: string, options?: { cause?: unknown }) {
    super('INTEGRITY', `object ${key} is corrupt: ${detail}`, options);
    this.key = key;
  }
}

export class LockHeldError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCK_HELD', message, options);
  }
}

export class NoSpaceError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NO_SPACE', message, options);
  }
}

export class InvalidInputError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

export class UnsupportedFormatError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED_FORMAT', message, options);
  }
}

export function isRepositoryError(e: unknown): e is RepositoryError {
  return e instanceof RepositoryError;
}
