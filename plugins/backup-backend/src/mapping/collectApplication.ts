import type { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type { KubeConfig, KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { PlannedResource } from '@ferry/plugin-backup-common';
import { describeKubernetesError, kubernetesStatusCode } from '../kubernetes/describeKubernetesError';
import { collectionPath, discoverResourceTypes, ResourceType } from '../kubernetes/discoverResourceTypes';
import { KubernetesJsonClient } from '../kubernetes/KubernetesJsonClient';
import { cleanObject } from './cleanObject';
import { collectHelmRelease } from './collectHelmRelease';
import { collectVolumes, statefulSetClaims } from './collectVolumes';
import { exclusionReason, ferryTemporaryReason, groupOf, objectKey } from './excludedObjects';
import { podImages } from './podImages';
import type { ApplicationSnapshot, ApplicationTarget } from './types';

export interface CollectApplicationOptions {
  kubeConfig: KubeConfig;
  target: ApplicationTarget;
  logger?: LoggerService;
}

type Source = PlannedResource['source'];

const LIST_CONCURRENCY = 8;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Deterministic order: API group, kind, name. */
function compareObjects(a: KubernetesObject, b: KubernetesObject): number {
  return (
    groupOf(a.apiVersion).localeCompare(groupOf(b.apiVersion)) ||
    (a.kind ?? '').localeCompare(b.kind ?? '') ||
    (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')
  );
}

/**
 * Reads an application from its cluster (DESIGN §2, §3 step 2): the objects of its Helm
 * releases (with the releases' storage records), of its label selectors, or of the whole
 * namespace; the claims of its StatefulSets; cleaned, filtered, sorted; plus the storage facts
 * of every claim and the images of every pod template. Kubernetes errors become typed
 * @backstage/errors naming the cluster.
 */
export async function collectApplication(options: CollectApplicationOptions): Promise<ApplicationSnapshot> {
  const { kubeConfig, target, logger } = options;
  const client = new KubernetesJsonClient(kubeConfig);
  const cluster = { name: target.cluster, url: client.server };
  let action = 'discovering api resources';
  try {
    return await collect(client, target, logger, step => {
      action = step;
    });
  } catch (error) {
    throw describeKubernetesError(error, cluster, action);
  }
}

async function collect(
  client: KubernetesJsonClient,
  target: ApplicationTarget,
  logger: LoggerService | undefined,
  step: (action: string) => void,
): Promise<ApplicationSnapshot> {
  const { namespace, application } = target;
  const warnings: string[] = [];
  const selected = new Map<string, { object: KubernetesObject; source: Source }>();
  const add = (object: KubernetesObject, source: Source) => {
    const key = objectKey(object);
    if (!selected.has(key)) selected.set(key, { object, source });
  };

  step(`reading namespace ${namespace}`);
  try {
    await client.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}`);
  } catch (error) {
    const status = kubernetesStatusCode(error);
    if (status === 404) throw new NotFoundError(`namespace ${namespace} does not exist`);
    if (status !== 403) throw error;
  }

  step('discovering api resources');
  const types = await discoverResourceTypes(client);
  warnings.push(...types.warnings);

  for (const release of application.helmReleases) {
    step(`reading helm release ${release} in namespace ${namespace}`);
    const collected = await collectHelmRelease({ client, types, namespace, release });
    collected.records.forEach(record => add(record, 'helm'));
    collected.objects.forEach(object => add(object, 'helm'));
    warnings.push(...collected.warnings);
  }

  const listAll = async (labelSelector: string | undefined, source: Source) => {
    const lists = await mapLimit(types.namespaced, LIST_CONCURRENCY, async (type: ResourceType) => {
      try {
        return await client.list({
          path: collectionPath(type, namespace),
          apiVersion: type.apiVersion,
          kind: type.kind,
          labelSelector,
        });
      } catch (error) {
        const status = kubernetesStatusCode(error);
        if (status === 403 || status === 404 || status === 405) {
          warnings.push(
            `${type.resource}.${type.group || 'core'} could not be listed in namespace ${namespace} (http ${status}): not backed up`,
          );
          return [];
        }
        throw error;
      }
    });
    lists.flat().forEach(object => add(object, source));
  };
  for (const selector of application.labelSelectors) {
    step(`listing resources with label selector ${selector} in namespace ${namespace}`);
    await listAll(selector, 'selector');
  }
  if (application.wholeNamespace) {
    step(`listing every resource of namespace ${namespace}`);
    await listAll(undefined, 'namespace');
  }

  step(`reading persistent volume claims of namespace ${namespace}`);
  const namespaceClaims = new Map(
    (
      await client.list({
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims`,
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
      })
    ).map(claim => [claim.metadata!.name!, claim as V1PersistentVolumeClaim]),
  );
  const statefulSets = [...selected.values()]
    .map(entry => entry.object)
    .filter(object => object.kind === 'StatefulSet' && groupOf(object.apiVersion) === 'apps');
  statefulSetClaims(statefulSets, namespaceClaims).forEach(claim => add(claim, 'claim-template'));

  const keys = new Set(selected.keys());
  const kept = [...selected.values()].filter(({ object }) => {
    // A claim's data is never re-created by its owner, so claims are kept, except Ferry's own
    // temporary claims (a whole-namespace backup resumed after a crash must not back them up).
    const reason =
      object.kind === 'PersistentVolumeClaim' && groupOf(object.apiVersion) === ''
        ? ferryTemporaryReason(object)
        : exclusionReason(object, keys);
    if (reason) {
      logger?.debug(`Leaving out ${object.kind} ${object.metadata?.name}: ${reason}`);
    }
    return !reason;
  });
  kept.sort((a, b) => compareObjects(a.object, b.object));

  const claims = kept
    .filter(({ object }) => object.kind === 'PersistentVolumeClaim' && groupOf(object.apiVersion) === '')
    .map(({ object }) => namespaceClaims.get(object.metadata!.name!) ?? (object as V1PersistentVolumeClaim));
  step(`reading storage of ${claims.length} claim(s)`);
  const volumes = await collectVolumes({ client, claims });
  warnings.push(...volumes.warnings);

  const objects = kept.map(({ object }) => cleanObject(object));
  logger?.info(
    `Collected ${objects.length} object(s) and ${volumes.claims.length} volume(s) of ${target.entityRef} in ${target.cluster}/${namespace}`,
  );
  return {
    namespace,
    objects,
    claims: volumes.claims,
    images: podImages(kept.map(({ object }) => object)),
    resources: kept.map(({ object, source }) => ({
      apiVersion: object.apiVersion!,
      kind: object.kind!,
      name: object.metadata!.name!,
      namespace,
      source,
    })),
    volumes: volumes.volumes,
    warnings,
  };
}
