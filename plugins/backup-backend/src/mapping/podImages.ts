import type { KubernetesObject, V1PodSpec } from '@kubernetes/client-node';

type WithSpec = KubernetesObject & { spec?: Record<string, unknown> };

/** The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). */
export function podSpecOf(object: KubernetesObject): V1PodSpec | undefined {
  const spec = (object as WithSpec).spec;
  if (!spec) return undefined;
  switch (object.kind) {
    case 'Pod':
      return spec as unknown as V1PodSpec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
    case 'ReplicationController':
      return (spec.template as { spec?: V1PodSpec } | undefined)?.spec;
    case 'CronJob':
      return (
        spec.jobTemplate as { spec?: { template?: { spec?: V1PodSpec } } } | undefined
      )?.spec?.template?.spec;
    default:
      return undefined;
  }
}

/** Images of containers, init containers and ephemeral containers, as written, de-duplicated, sorted. */
export function podImages(objects: readonly KubernetesObject[]): string[] {
  const images = new Set<string>();
  for (const object of objects) {
    const spec = podSpecOf(object);
    for (const container of [
      ...(spec?.initContainers ?? []),
      ...(spec?.containers ?? []),
      ...(spec?.ephemeralContainers ?? []),
    ]) {
      if (container.image) images.add(container.image);
    }
  }
  return [...images].sort();
}
