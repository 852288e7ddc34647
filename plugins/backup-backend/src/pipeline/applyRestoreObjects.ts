import type { KubernetesObject } from '@kubernetes/client-node';
import type { RestoredObject } from '@ferry/plugin-backup-common';
import type { DiscoveredTypes } from '../kubernetes/discoverResourceTypes';
import { collectionPath, objectPath } from '../kubernetes/discoverResourceTypes';
import { isConflict, isNotFound, KubeClients } from './KubeClients';
import { restoreOrder } from './restoreOrder';

/** The field manager of Ferry's server-side applies. */
export const FIELD_MANAGER = 'ferry';

/** Where an object lives in the API, or why it cannot be restored in this cluster. */
export function locate(types: DiscoveredTypes, object: KubernetesObject) {
  const type = types.lookup(object.apiVersion ?? '', object.kind ?? '');
  if (!type) {
    return { problem: `the cluster does not serve ${object.kind} of ${object.apiVersion}` } as const;
  }
  const namespace = type.namespaced ? object.metadata?.namespace : undefined;
  return {
    collection: type.namespaced ? collectionPath(type, namespace ?? '') : objectPath(type, undefined, '').replace(/\/$/, ''),
    path: objectPath(type, namespace, object.metadata?.name ?? ''),
  } as const;
}

export function refOf(object: KubernetesObject): Omit<RestoredObject, 'outcome' | 'reason'> {
  return {
    apiVersion: object.apiVersion ?? '',
    kind: object.kind ?? '',
    name: object.metadata?.name ?? '',
    ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
  };
}

/** The API server's own words for a failed request. */
export function apiReason(error: unknown): string {
  const body = (error as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON: fall through
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Applies the restored objects in dependency order (DESIGN §4 step 4). `existing: skip` creates
 * each object and leaves one that exists (409) as it is; `patch` server-side applies it with
 * field manager `ferry`, taking over conflicting fields. The outcome of every object is returned;
 * a failure of one object does not stop the others.
 */
export async function applyRestoreObjects(options: {
  /** The identity that applies each object. */
  kube: (object: KubernetesObject) => KubeClients;
  types: DiscoveredTypes;
  objects: KubernetesObject[];
  existing: 'skip' | 'patch';
  /** Outcomes already known (resumed restore, claims created by the volume step). */
  known?: (object: KubernetesObject) => RestoredObject | undefined;
  onOutcome?: (outcome: RestoredObject) => Promise<void>;
}): Promise<RestoredObject[]> {
  const outcomes: RestoredObject[] = [];
  for (const object of restoreOrder(options.objects)) {
    let outcome = options.known?.(object);
    if (!outcome) {
      const { json } = options.kube(object);
      const location = locate(options.types, object);
      if ('problem' in location) {
        outcome = { ...refOf(object), outcome: 'Failed', reason: location.problem ?? '' };
      } else if (options.existing === 'skip') {
        try {
          await json.post(location.collection, object);
          outcome = { ...refOf(object), outcome: 'Created' };
        } catch (error) {
          outcome = isConflict(error)
            ? { ...refOf(object), outcome: 'Skipped', reason: 'already exists' }
            : { ...refOf(object), outcome: 'Failed', reason: apiReason(error) };
        }
      } else {
        try {
          const exists = await json.get(location.path).then(
            () => true,
            error => (isNotFound(error) ? false : Promise.reject(error)),
          );
          await json.patch({
            path: location.path,
            body: object,
            type: 'apply',
            query: { fieldManager: FIELD_MANAGER, force: 'true' },
          });
          outcome = { ...refOf(object), outcome: exists ? 'Patched' : 'Created' };
        } catch (error) {
          outcome = { ...refOf(object), outcome: 'Failed', reason: apiReason(error) };
        }
      }
    }
    outcomes.push(outcome);
    await options.onOutcome?.(outcome);
  }
  return outcomes;
}
