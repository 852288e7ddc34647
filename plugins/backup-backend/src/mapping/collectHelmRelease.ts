import { NotFoundError } from '@backstage/errors';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DiscoveredTypes } from '../kubernetes/discoverResourceTypes';
import { objectPath } from '../kubernetes/discoverResourceTypes';
import { isKubernetesNotFound } from '../kubernetes/describeKubernetesError';
import type { KubernetesJsonClient } from '../kubernetes/KubernetesJsonClient';
import {
  currentRevision,
  decodeHelmReleaseConfigMap,
  decodeHelmReleaseSecret,
  HelmRelease,
  manifestResources,
} from './helmRelease';

export interface CollectedHelmRelease {
  /** Every storage record of the release (all revisions), so `helm history` and `rollback` work. */
  records: KubernetesObject[];
  /** The live objects the current revision's manifest lists. */
  objects: KubernetesObject[];
  revision: number;
  warnings: string[];
}

const RELEASE_SECRET_TYPE = 'helm.sh/release.v1';

/** Helm's storage records of a release: Secrets (the default driver), else ConfigMaps. */
async function readRecords(
  client: KubernetesJsonClient,
  namespace: string,
  release: string,
): Promise<{ records: KubernetesObject[]; releases: HelmRelease[] }> {
  const labelSelector = `owner=helm,name=${release}`;
  const prefix = `sh.helm.release.v1.${release}.v`;
  const ns = encodeURIComponent(namespace);
  const secrets = (
    await client.list({ path: `/api/v1/namespaces/${ns}/secrets`, apiVersion: 'v1', kind: 'Secret', labelSelector })
  ).filter(
    secret =>
      (secret as { type?: string }).type === RELEASE_SECRET_TYPE && secret.metadata?.name?.startsWith(prefix),
  );
  if (secrets.length > 0) {
    return { records: secrets, releases: secrets.map(s => decodeHelmReleaseSecret(s)) };
  }
  const configMaps = (
    await client.list({
      path: `/api/v1/namespaces/${ns}/configmaps`,
      apiVersion: 'v1',
      kind: 'ConfigMap',
      labelSelector,
    })
  ).filter(configMap => configMap.metadata?.name?.startsWith(prefix));
  return { records: configMaps, releases: configMaps.map(c => decodeHelmReleaseConfigMap(c)) };
}

/**
 * A Helm release: its storage records and the live objects of its current revision's manifest.
 * A release that does not exist is a NotFoundError naming it. Manifest entries that are
 * cluster-scoped, in another namespace, of a type the cluster does not serve, or gone from the
 * cluster become warnings.
 */
export async function collectHelmRelease(options: {
  client: KubernetesJsonClient;
  types: DiscoveredTypes;
  namespace: string;
  release: string;
}): Promise<CollectedHelmRelease> {
  const { client, types, namespace, release } = options;
  const { records, releases } = await readRecords(client, namespace, release);
  const current = currentRevision(releases);
  if (!current) {
    throw new NotFoundError(
      `helm release ${release} not found in namespace ${namespace} (no secret or configmap sh.helm.release.v1.${release}.v<N>)`,
    );
  }
  const warnings: string[] = [];
  if (current.info?.status !== 'deployed') {
    warnings.push(
      `helm release ${release} has no deployed revision; using revision ${current.version} (${current.info?.status ?? 'unknown status'})`,
    );
  }
  const objects: KubernetesObject[] = [];
  for (const resource of manifestResources(current.manifest ?? '')) {
    const label = `${resource.kind} ${resource.name}`;
    const type = types.lookup(resource.apiVersion, resource.kind);
    if (!type) {
      warnings.push(`helm release ${release} lists ${label} of ${resource.apiVersion}, which the cluster does not serve`);
      continue;
    }
    if (!type.namespaced) {
      warnings.push(`helm release ${release} lists cluster-scoped ${label}: not backed up (backups are namespaced)`);
      continue;
    }
    const objectNamespace = resource.namespace ?? current.namespace ?? namespace;
    if (objectNamespace !== namespace) {
      warnings.push(`helm release ${release} lists ${label} in namespace ${objectNamespace}: not backed up (outside ${namespace})`);
      continue;
    }
    try {
      const live = await client.get<KubernetesObject>(objectPath(type, namespace, resource.name));
      objects.push({ ...live, apiVersion: type.apiVersion, kind: type.kind });
    } catch (error) {
      if (!isKubernetesNotFound(error)) throw error;
      warnings.push(`helm release ${release} lists ${label}, which does not exist in namespace ${namespace}`);
    }
  }
  return { records, objects, revision: current.version, warnings };
}
