import { DatamoverError } from '../errors';
import { parseImageReference, type ImageReference } from '../oci/reference';

/**
 * Where a backed-up image goes on restore: `<registry>/<prefix>/<last path component of the
 * original repository>:<original tag>`; a digest-only original gets tag `ferry-<12 hex>`.
 */
export function destinationOf(o: { registry: string; prefix: string; canonical: string; digest: string }): ImageReference {
  const original = parseImageReference(o.canonical);
  const name = original.repository.split('/').pop()!;
  const tag = original.tag ?? `ferry-${o.digest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
  const prefix = o.prefix.replace(/^\/+|\/+$/g, '');
  const text = `${o.registry}/${prefix ? `${prefix}/` : ''}${name}:${tag}`;
  try {
    return parseImageReference(text);
  } catch (e) {
    throw new DatamoverError('USAGE', `--registry "${o.registry}" and --repository "${o.prefix}" do not make a valid image name (${text}): ${(e as Error).message}`);
  }
}

/**
 * The tag used when the original tag holds another image and overriding is off:
 * `<tag>-ferry-<6 hex of the backup id>`, then `-2`, `-3` … if that is taken by yet another image.
 * Cut to the 128 characters a tag may have.
 */
export function alternativeTag(tag: string, backupId: string, attempt: number): string {
  const suffix = `-ferry-${backupId.slice(-6)}${attempt > 1 ? `-${attempt}` : ''}`;
  return `${tag.slice(0, 128 - suffix.length)}${suffix}`;
}
