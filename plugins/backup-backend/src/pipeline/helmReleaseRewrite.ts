import type { KubernetesObject } from '@kubernetes/client-node';
import { gzipSync } from 'node:zlib';
import { isMap, parseAllDocuments } from 'yaml';
import { decodeHelmReleaseSecret } from '../mapping/helmRelease';

/** Helm's storage Secret type (`helm.sh/helm/v3/pkg/storage/driver.SecretsDriverName`). */
export const HELM_RELEASE_SECRET_TYPE = 'helm.sh/release.v1';
/** Helm's ownership annotation on every object of a release. */
export const HELM_RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';

type SecretObject = KubernetesObject & { type?: string; data?: Record<string, string> };

export function isHelmReleaseSecret(object: KubernetesObject): boolean {
  return object.kind === 'Secret' && (object as SecretObject).type === HELM_RELEASE_SECRET_TYPE;
}

/**
 * A Helm release Secret rewritten for another namespace (DESIGN §4 step 4): the release record's
 * `namespace` is set, explicit `metadata.namespace` values of the rendered manifest are mapped
 * (comments such as `# Source:` kept), and the record is re-encoded the way Helm stores it,
 * base64(gzip(JSON)) as the value of `data.release` (which the API base64-encodes once more), so
 * `helm list -n <namespace>` and `helm upgrade` work there. Other fields are kept as they were.
 */
export function rewriteHelmReleaseSecret<T extends KubernetesObject>(
  secret: T,
  namespace: string,
  namespaceMap: Record<string, string> = {},
): T {
  const copy = structuredClone(secret) as T & SecretObject;
  const record = decodeHelmReleaseSecret(copy) as unknown as Record<string, unknown>;
  const map = { ...namespaceMap };
  if (typeof record.namespace === 'string') map[record.namespace] ??= namespace;
  const rewritten: Record<string, unknown> = { ...record, namespace };
  if (typeof record.manifest === 'string') rewritten.manifest = rewriteManifestNamespaces(record.manifest, map);
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(rewritten), 'utf8')).toString('base64');
  copy.data = { ...copy.data, release: Buffer.from(helmEncoded, 'utf8').toString('base64') };
  copy.metadata = { ...copy.metadata, namespace };
  return copy;
}

/** A rendered multi-document manifest with `metadata.namespace` values mapped; unchanged if none is. */
export function rewriteManifestNamespaces(manifest: string, map: Record<string, string>): string {
  const documents = parseAllDocuments(manifest);
  if (!Array.isArray(documents)) return manifest;
  let changed = false;
  for (const document of documents) {
    if (!isMap(document.contents)) continue;
    const current = document.getIn(['metadata', 'namespace']);
    if (typeof current === 'string' && map[current] && map[current] !== current) {
      document.setIn(['metadata', 'namespace'], map[current]);
      changed = true;
    }
  }
  return changed ? documents.map(d => d.toString()).join('') : manifest;
}
