import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * Kinds in the order a restore applies them (DESIGN §4 step 4): what others refer to first
 * (namespaces, identities, configuration, storage, services), then workloads; any other kind
 * (custom resources, ingresses, policies) last.
 */
const KIND_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'LimitRange',
  'ResourceQuota',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'Service',
  'Endpoints',
  'EndpointSlice',
  'Pod',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
];

export function kindRank(kind: string | undefined): number {
  const index = KIND_ORDER.indexOf(kind ?? '');
  return index >= 0 ? index : KIND_ORDER.length;
}

/** The objects sorted for applying: by kind rank, then kind, namespace and name (stable). */
export function restoreOrder<T extends KubernetesObject>(objects: T[]): T[] {
  return [...objects].sort(
    (a, b) =>
      kindRank(a.kind) - kindRank(b.kind) ||
      String(a.kind).localeCompare(String(b.kind)) ||
      String(a.metadata?.namespace ?? '').localeCompare(String(b.metadata?.namespace ?? '')) ||
      String(a.metadata?.name ?? '').localeCompare(String(b.metadata?.name ?? '')),
  );
}
