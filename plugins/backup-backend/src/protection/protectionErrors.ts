import { ConflictError, ServiceUnavailableError } from '@backstage/errors';
import { KeyUnavailableError, ObjectLockedError } from '@ferry/repository';

/**
 * The repository's protection errors as Backstage's typed errors: a backup under Object Lock
 * is a conflict (409) whose message carries the date; a key the target's Secret does not hold
 * (any more) is the service's problem (503), naming the Secret and the key id it needs. Other
 * errors pass unchanged.
 */
export function protectionError(error: unknown): unknown {
  // no cause: Backstage would append its message again ("; caused by …")
  if (error instanceof ObjectLockedError) return new ConflictError(error.message);
  if (error instanceof KeyUnavailableError) return new ServiceUnavailableError(error.message);
  return error;
}
