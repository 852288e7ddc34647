import type { V1APIGroupList, V1APIResourceList } from '@kubernetes/client-node';
import type { KubernetesJsonClient } from './KubernetesJsonClient';

/** A namespaced, listable resource type found by API discovery. */
export interface ResourceType {
  /** Empty for the core group. */
  group: string;
  version: string;
  /** `v1` or `apps/v1`. */
  apiVersion: string;
  kind: string;
  /** Plural resource name, e.g. `deployments`. */
  resource: string;
}

/** Types that are never application state, or are re-created by their owners. */
const SKIPPED_GROUPS = new Set(['events.k8s.io', 'metrics.k8s.io', 'ferry.io']);
const SKIPPED_RESOURCES = new Set([
  // core
  'events',
  'endpoints',
  'bindings',
  'componentstatuses',
  'localsubjectaccessreviews',
  // discovery.k8s.io
  'endpointslices',
  // coordination.k8s.io
  'leases',
]);

/** The collection path of a type in a namespace. */
export function collectionPath(type: ResourceType, namespace: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${type.resource}`;
}

/** The path of one object of a type. */
export function objectPath(type: ResourceType, namespace: string | undefined, name: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${scope}/${type.resource}/${encodeURIComponent(name)}`;
}

export interface DiscoveredTypes {
  /** Namespaced types that support `list`, minus the skipped ones, in a stable order. */
  namespaced: ResourceType[];
  /** Every type of every served version (also cluster-scoped), to resolve manifest entries. */
  lookup(apiVersion: string, kind: string): (ResourceType & { namespaced: boolean }) | undefined;
  /** Group versions that could not be read (e.g. an aggregated API that is down). */
  warnings: string[];
}

/**
 * API discovery: core v1 plus every group's preferred version. Subresources (`pods/log`) and
 * types without the `list` verb are left out. Manifest lookups also search non-preferred
 * versions, so a Helm chart that uses an older served version still resolves.
 */
export async function discoverResourceTypes(client: KubernetesJsonClient): Promise<DiscoveredTypes> {
  const groups = await client.get<V1APIGroupList>('/apis');
  const versions: Array<{ group: string; version: string; preferred: boolean }> = [
    { group: '', version: 'v1', preferred: true },
  ];
  for (const group of groups.groups ?? []) {
    const preferred = group.preferredVersion?.version ?? group.versions[0]?.version;
    for (const version of group.versions ?? []) {
      versions.push({ group: group.name, version: version.version, preferred: version.version === preferred });
    }
  }
  const all = new Map<string, ResourceType & { namespaced: boolean }>();
  const namespaced: ResourceType[] = [];
  const lists = await Promise.all(
    versions.map(async entry => {
      const path = entry.group ? `/apis/${entry.group}/${entry.version}` : `/api/${entry.version}`;
      try {
        return { entry, list: await client.get<V1APIResourceList>(path) };
      } catch (error) {
        // An aggregated API that is down (e.g. metrics) must not stop a backup of everything else.
        return { entry, list: undefined, error };
      }
    }),
  );
  const warnings: string[] = [];
  for (const { entry, list, error } of lists) {
    if (error !== undefined && entry.preferred && !SKIPPED_GROUPS.has(entry.group)) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      warnings.push(`api group ${entry.group}/${entry.version} could not be discovered, its resources are not backed up: ${reason}`);
    }
    for (const resource of list?.resources ?? []) {
      if (resource.name.includes('/') || !resource.verbs.includes('list')) {
        continue;
      }
      const apiVersion = entry.group ? `${entry.group}/${entry.version}` : entry.version;
      const type = {
        group: entry.group,
        version: entry.version,
        apiVersion,
        kind: resource.kind,
        resource: resource.name,
        namespaced: resource.namespaced,
      };
      all.set(`${apiVersion}|${resource.kind}`, type);
      if (
        entry.preferred &&
        resource.namespaced &&
        !SKIPPED_GROUPS.has(entry.group) &&
        !SKIPPED_RESOURCES.has(resource.name)
      ) {
        namespaced.push({
          group: type.group,
          version: type.version,
          apiVersion: type.apiVersion,
          kind: type.kind,
          resource: type.resource,
        });
      }
    }
  }
  namespaced.sort((a, b) => `${a.group}|${a.kind}`.localeCompare(`${b.group}|${b.kind}`));
  return {
    namespaced,
    lookup: (apiVersion, kind) => all.get(`${apiVersion}|${kind}`),
    warnings,
  };
}
