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
  | 'UNSUPPORTED_FORMAT'
  | 'KEY_UNAVAILABLE'
  | 'LOCKED';

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

/**
 * An object is encrypted with a key the reader does not hold (no key given, or a keyring
 * without that key id: the key was rotated away or replaced by a wrong one). Names the object,
 * the key id it needs and where the keys came from, never a key.
 */
export class KeyUnavailableError extends RepositoryError {
  readonly key: string;
  readonly keyId: string;
  constructor(o: { key: string; keyId: string; source?: string; held?: string[] }, options?: { cause?: unknown }) {
    super(
      'KEY_UNAVAILABLE',
      o.source
        ? `object ${o.key} is encrypted with key id ${o.keyId}, which ${o.source} does not hold (it holds ${o.held?.length ? o.held.join(', ') : 'no key'}): put the key that was used back into it, under any data key name`
        : `object ${o.key} is encrypted with key id ${o.keyId}, and no encryption key was given`,
      options,
    );
    this.key = o.key;
    this.keyId = o.keyId;
  }
}

/** An object under S3 Object Lock retention cannot be deleted yet. */
export class ObjectLockedError extends RepositoryError {
  readonly key: string;
  readonly until?: Date;
  readonly mode?: string;
  constructor(o: { key: string; until?: Date; mode?: string; what?: string }, options?: { cause?: unknown }) {
    super(
      'LOCKED',
      `${o.what ?? `object ${o.key}`} is locked${o.mode ? ` (object lock, ${o.mode.toLowerCase()} mode)` : ' by object lock'}${o.until ? ` until ${o.until.toISOString()}` : ''} and cannot be deleted before then`,
      options,
    );
    this.key = o.key;
    this.until = o.until;
    this.mode = o.mode;
  }
}

export function isRepositoryError(e: unknown): e is RepositoryError {
  return e instanceof RepositoryError;
}
