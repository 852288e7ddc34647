import type { KubernetesObject } from '@kubernetes/client-node';
import { gunzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

/** The parts of Helm's release record (`helm.sh/helm/v3/pkg/release.Release`) Ferry reads. */
export interface HelmRelease {
  name: string;
  namespace: string;
  version: number;
  info?: { status?: string };
  manifest?: string;
  chart?: { metadata?: { name?: string; version?: string } };
}

const GZIP_MAGIC = [0x1f, 0x8b];

function startsWithGzip(bytes: Buffer): boolean {
  return bytes.length > 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * Decodes Helm's encoded release (the `release` key of its storage object). Helm stores
 * base64(gzip(JSON)); in a Secret the API adds its own base64, so the caller passes the Secret's
 * decoded bytes (or a ConfigMap's string as bytes). Accepted: gzip or plain JSON, under up to two
 * layers of base64.
 */
export function decodeHelmRelease(payload: Buffer, what: string): HelmRelease {
  let bytes = payload;
  for (let layer = 0; layer < 3; layer++) {
    if (startsWithGzip(bytes)) {
      bytes = gunzipSync(bytes);
    }
    const text = bytes.toString('utf8').trim();
    if (text.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new Error(`helm release record ${what} is not valid json: ${String(error)}`);
      }
      return checkRelease(parsed, what);
    }
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) {
      break;
    }
    bytes = Buffer.from(text, 'base64');
  }
  throw new Error(`helm release record ${what} is neither gzip nor json under base64`);
}

function checkRelease(value: unknown, what: string): HelmRelease {
  const record = value as Partial<HelmRelease> | null;
  if (!record || typeof record !== 'object' || typeof record.name !== 'string' || typeof record.version !== 'number') {
    throw new Error(`helm release record ${what} has no name or version`);
  }
  return record as HelmRelease;
}

/** Decodes the `release` key of a Helm storage Secret (`type: helm.sh/release.v1`). */
export function decodeHelmReleaseSecret(secret: KubernetesObject & { data?: Record<string, string> }): HelmRelease {
  const what = `secret ${secret.metadata?.namespace}/${secret.metadata?.name}`;
  const data = secret.data?.release;
  if (!data) {
    throw new Error(`helm release record ${what} has no data.release`);
  }
  return decodeHelmRelease(Buffer.from(data, 'base64'), what);
}

/** Decodes the `release` key of a Helm storage ConfigMap (`HELM_DRIVER=configmap`). */
export function decodeHelmReleaseConfigMap(
  configMap: KubernetesObject & { data?: Record<string, string> },
): HelmRelease {
  const what = `configmap ${configMap.metadata?.namespace}/${configMap.metadata?.name}`;
  const data = configMap.data?.release;
  if (!data) {
    throw new Error(`helm release record ${what} has no data.release`);
  }
  return decodeHelmRelease(Buffer.from(data, 'utf8'), what);
}

/**
 * The revision whose manifest is live: the newest `deployed` one; when none is deployed (a
 * failed upgrade after an uninstall, a pending install), the newest revision.
 */
export function currentRevision(releases: HelmRelease[]): HelmRelease | undefined {
  const byVersion = [...releases].sort((a, b) => b.version - a.version);
  return byVersion.find(release => release.info?.status === 'deployed') ?? byVersion[0];
}

/** A resource a release's manifest lists. */
export interface ManifestResource {
  apiVersion: string;
  kind: string;
  name: string;
  /** As written in the manifest; undefined means the release namespace (or cluster scope). */
  namespace?: string;
}

/**
 * The resources of a rendered Helm manifest (multi-document YAML with `# Source:` comments).
 * `*List` documents are flattened; empty documents are skipped.
 */
export function manifestResources(manifest: string): ManifestResource[] {
  const resources: ManifestResource[] = [];
  const add = (value: unknown) => {
    if (!value || typeof value !== 'object') return;
    const object = value as {
      apiVersion?: unknown;
      kind?: unknown;
      metadata?: { name?: unknown; namespace?: unknown };
      items?: unknown;
    };
    if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
      object.items.forEach(add);
      return;
    }
    if (
      typeof object.apiVersion !== 'string' ||
      typeof object.kind !== 'string' ||
      typeof object.metadata?.name !== 'string'
    ) {
      return;
    }
    resources.push({
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata.name,
      ...(typeof object.metadata.namespace === 'string' ? { namespace: object.metadata.namespace } : {}),
    });
  };
  for (const document of parseAllDocuments(manifest)) {
    if ('errors' in document && document.errors.length > 0) {
      throw new Error(`helm manifest is not valid yaml: ${document.errors[0].message}`);
    }
    add(document.toJS());
  }
  return resources;
}
