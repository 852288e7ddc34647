import type { KubernetesObject } from '@kubernetes/client-node';
import { gzipSync } from 'node:zlib';
import { decodeHelmReleaseSecret } from '../mapping/helmRelease';

/** Helm's storage Secret type (`helm.sh/helm/v3/pkg/storage/driver.SecretsDriverName`). */
export const HELM_RELEASE_SECRET_TYPE = 'helm.sh/release.v1';

type SecretObject = KubernetesObject & { type?: string; data?: Record<string, string> };

export function isHelmReleaseSecret(object: KubernetesObject): boolean {
  return object.kind === 'Secret' && (object as SecretObject).type === HELM_RELEASE_SECRET_TYPE;
}

/**
 * A Helm release Secret rewritten for another namespace (DESIGN §4 step 4): the release record's
 * `namespace` is set and the record re-encoded the way Helm stores it, base64(gzip(JSON)) as the
 * value of `data.release` (which the API base64-encodes once more), so `helm list -n <namespace>`
 * and `helm upgrade` see the release there. Every other field of the record is kept as it was.
 */
export function rewriteHelmReleaseSecret<T extends KubernetesObject>(secret: T, namespace: string): T {
  const copy = structuredClone(secret) as T & SecretObject;
  const record = decodeHelmReleaseSecret(copy) as unknown as Record<string, unknown>;
  const rewritten = { ...record, namespace };
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(rewritten), 'utf8')).toString('base64');
  copy.data = { ...copy.data, release: Buffer.from(helmEncoded, 'utf8').toString('base64') };
  copy.metadata = { ...copy.metadata, namespace };
  return copy;
}
