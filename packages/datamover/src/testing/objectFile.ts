import path from 'node:path';
import { FilesystemTarget, S3Target, type Target } from '@ferry/repository';

/**
 * The file holding an object: on a filesystem target its path; on the sandbox S3 server
 * (versitygw, posix backend) the file in `<dataDir>/<bucket>/<prefix><key>`. For tests that
 * damage stored bytes on purpose.
 */
export function objectFile(outer: Target, key: string, s3DataDir?: string): string {
  // Repository.open wraps its target (EnvelopeTarget, which passes volume images through)
  const target = (outer as Target & { inner?: Target }).inner ?? outer;
  if (target instanceof FilesystemTarget) {
    return path.join(target.description.replace(/^file:\/\//, ''), ...key.split('/'));
  }
  if (target instanceof S3Target && s3DataDir) {
    const m = /^s3:\/\/([^/]+)\/(\S*)/.exec(target.description)!;
    return path.join(s3DataDir, m[1], ...`${m[2]}${key}`.split('/'));
  }
  throw new Error(`no file behind ${target.description}`);
}
