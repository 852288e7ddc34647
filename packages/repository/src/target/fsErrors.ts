import {
  NoSpaceError,
  ObjectNotFoundError,
  RepositoryError,
  TargetUnreachableError,
  CredentialsError,
} from '../errors';

/** Maps a Node filesystem error on `key` to the repository's typed errors. */
export function mapFsError(e: unknown, key: string, root: string): Error {
  if (e instanceof RepositoryError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new ObjectNotFoundError(key, { cause: e });
    case 'ENOSPC':
    case 'EDQUOT':
      return new NoSpaceError(`filesystem target ${root} is full while writing ${key}`, {
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new CredentialsError(
        `filesystem target ${root} refuses access to ${key} (${code})`,
        { cause: e },
      );
    case 'EIO':
    case 'ESTALE':
    case 'ENOTCONN':
    case 'EHOSTDOWN':
    case 'ETIMEDOUT':
      return new TargetUnreachableError(
        `filesystem target ${root} failed on ${key} (${code})`,
        { cause: e },
      );
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}
