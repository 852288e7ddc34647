import type { KubernetesObject } from '@kubernetes/client-node';

/** Identity of an object within one namespace: `<group>|<kind>|<name>`. */
export function objectKey(object: { apiVersion?: string; kind?: string; metadata?: { name?: string } }): string {
  return `${groupOf(object.apiVersion)}|${object.kind}|${object.metadata?.name}`;
}

export function groupOf(apiVersion: string | undefined): string {
  const slash = (apiVersion ?? '').indexOf('/');
  return slash >= 0 ? apiVersion!.slice(0, slash) : '';
}

/**
 * Why an object is never stored, or undefined when it is:
 * - ServiceAccount token Secrets (the token controller makes new ones) and the
 *   `kube-root-ca.crt` ConfigMap (published into every namespace);
 * - Ferry's own temporary objects (`app.kubernetes.io/managed-by=ferry`: exposed claims,
 *   datamover Jobs of a backup running now);
 * - objects whose controller owner is itself in the set (ReplicaSets of a Deployment,
 *   ControllerRevisions of a StatefulSet, Jobs of a CronJob): the owner re-creates them;
 * - Pods that have a controller at all (a bare Pod is kept).
 */
/** Ferry's own temporary objects (exposed claims, snapshots, Jobs) are never backed up. */
export function ferryTemporaryReason(object: KubernetesObject): string | undefined {
  return object.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'ferry'
    ? 'ferry temporary object'
    : undefined;
}

export function exclusionReason(object: KubernetesObject, keys: ReadonlySet<string>): string | undefined {
  const record = object as KubernetesObject & { type?: string };
  if (object.kind === 'Secret' && record.type === 'kubernetes.io/service-account-token') {
    return 'service account token';
  }
  if (object.kind === 'ConfigMap' && object.metadata?.name === 'kube-root-ca.crt') {
    return 'cluster ca bundle';
  }
  const temporary = ferryTemporaryReason(object);
  if (temporary) {
    return temporary;
  }
  const controller = object.metadata?.ownerReferences?.find(owner => owner.controller);
  if (controller && object.kind === 'Pod' && groupOf(object.apiVersion) === '') {
    return `pod of ${controller.kind} ${controller.name}`;
  }
  if (controller && keys.has(objectKey({ apiVersion: controller.apiVersion, kind: controller.kind, metadata: { name: controller.name } }))) {
    return `owned by ${controller.kind} ${controller.name}`;
  }
  return undefined;
}

