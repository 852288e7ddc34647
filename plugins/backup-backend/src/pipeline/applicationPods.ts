import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { ApplicationSpec, ResourceRef } from '@ferry/plugin-backup-common';
import { objectKey } from '../mapping/excludedObjects';
import { HOOK_ANNOTATION_PREFIX, LEGACY_HOOK_ANNOTATION_PREFIX } from './hookAnnotations';
import { matchesLabelSelector } from './matchLabelSelector';
import { isNotFound, KubeClients } from './KubeClients';

/** Where the built-in controllers that stand between a workload and its pods are read. */
const OWNER_PATHS: Record<string, (namespace: string, name: string) => string> = {
  'apps|ReplicaSet': (ns, name) => `/apis/apps/v1/namespaces/${ns}/replicasets/${name}`,
  'apps|StatefulSet': (ns, name) => `/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`,
  'apps|DaemonSet': (ns, name) => `/apis/apps/v1/namespaces/${ns}/daemonsets/${name}`,
  'apps|Deployment': (ns, name) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
  'batch|Job': (ns, name) => `/apis/batch/v1/namespaces/${ns}/jobs/${name}`,
  '|ReplicationController': (ns, name) => `/api/v1/namespaces/${ns}/replicationcontrollers/${name}`,
};
/** Longest owner chain followed (CronJob → Job → Pod is 2; an operator's CR adds one). */
const MAX_OWNER_DEPTH = 5;

/** A pod a hook may run in: Running, not being deleted, not one of Ferry's own temporaries. */
export function isHookablePod(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    !pod.metadata?.deletionTimestamp &&
    pod.metadata?.labels?.['app.kubernetes.io/managed-by'] !== 'ferry'
  );
}

/** Whether a pod declares a backup hook with Velero's annotations (a command of any stage). */
export function hasHookAnnotations(pod: V1Pod): boolean {
  const annotations = pod.metadata?.annotations ?? {};
  return [HOOK_ANNOTATION_PREFIX.pre, HOOK_ANNOTATION_PREFIX.post, LEGACY_HOOK_ANNOTATION_PREFIX].some(
    prefix => Boolean(annotations[`${prefix}command`]),
  );
}

/**
 * Whether a pod belongs to the application being backed up, so that its hook annotations run:
 * - a whole-namespace backup: every pod of the namespace;
 * - the pod itself is in the backup's resource set (a bare Pod), or
 * - one of its controllers, followed up the owner chain (Pod → ReplicaSet → Deployment,
 *   Pod → Job → CronJob, Pod → StatefulSet → an operator's resource), is in the set, or
 * - the pod matches one of the application's label selectors.
 * A pod of another application in the same namespace matches none of these.
 */
export async function belongsToApplication(options: {
  pod: V1Pod;
  application: ApplicationSpec;
  resourceKeys: ReadonlySet<string>;
  /** The owner references of a controller object, undefined when it cannot be read. */
  ownersOf: (owner: V1OwnerReference) => Promise<V1OwnerReference[] | undefined>;
}): Promise<boolean> {
  const { pod, application, resourceKeys } = options;
  if (application.wholeNamespace) return true;
  const key = (ref: { apiVersion?: string; kind?: string; name?: string }) =>
    objectKey({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name } });
  if (resourceKeys.has(key({ apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name }))) return true;
  const labels = pod.metadata?.labels ?? {};
  if (application.labelSelectors.some(selector => matchesLabelSelector(selector, labels))) return true;
  let owner = controllerOf(pod.metadata?.ownerReferences);
  for (let depth = 0; owner && depth < MAX_OWNER_DEPTH; depth++) {
    if (resourceKeys.has(key(owner))) return true;
    owner = controllerOf(await options.ownersOf(owner));
  }
  return false;
}

function controllerOf(owners: V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  return owners?.find(owner => owner.controller);
}

/**
 * Lists the namespace's pods once and returns those a hook may run in (`isHookablePod`): all of
 * them, for the selectors of `spec.hooks`, and those of the application (`belongsToApplication`)
 * that declare hooks with annotations. Sorted by name. Owner chains are read only for annotated
 * pods, so an application without hook annotations costs one list and nothing more.
 */
export async function listHookPods(options: {
  kube: KubeClients;
  namespace: string;
  application: ApplicationSpec;
  resources: ResourceRef[];
}): Promise<{ running: V1Pod[]; application: V1Pod[] }> {
  const { kube, namespace } = options;
  const pods = await kube.core.listNamespacedPod({ namespace });
  const running = pods.items
    .filter(isHookablePod)
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  const resourceKeys = new Set(
    options.resources
      .filter(r => !r.namespace || r.namespace === namespace)
      .map(r => objectKey({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name } })),
  );
  const owners = new Map<string, Promise<V1OwnerReference[] | undefined>>();
  const ownersOf = (owner: V1OwnerReference) => {
    const key = objectKey({ apiVersion: owner.apiVersion, kind: owner.kind, metadata: { name: owner.name } });
    if (!owners.has(key)) owners.set(key, readOwners(kube, namespace, owner, key));
    return owners.get(key)!;
  };
  const application: V1Pod[] = [];
  for (const pod of running.filter(hasHookAnnotations)) {
    if (await belongsToApplication({ pod, application: options.application, resourceKeys, ownersOf })) {
      application.push(pod);
    }
  }
  return { running, application };
}

async function readOwners(
  kube: KubeClients,
  namespace: string,
  owner: V1OwnerReference,
  key: string,
): Promise<V1OwnerReference[] | undefined> {
  const path = OWNER_PATHS[key.slice(0, key.lastIndexOf('|'))];
  if (!path) return undefined;
  try {
    const object = await kube.json.get<{ metadata?: { ownerReferences?: V1OwnerReference[] } }>(
      path(namespace, owner.name),
    );
    return object.metadata?.ownerReferences ?? [];
  } catch (error) {
    // An owner deleted meanwhile ends the chain; anything else is a real error.
    if (isNotFound(error)) return undefined;
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(
      `cannot tell whether the pods of ${owner.kind} ${namespace}/${owner.name} belong to the application (their hook annotations would run): reading it failed: ${reason}`,
    );
  }
}
