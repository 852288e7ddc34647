import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import {
  APPLICATION_ANNOTATIONS,
  FERRY_ANNOTATION_CLUSTER,
  FERRY_ANNOTATION_HELM_RELEASE,
  FERRY_ANNOTATION_LABEL_SELECTOR,
  FERRY_ANNOTATION_NAMESPACE,
  FERRY_ANNOTATION_POLICY,
  KUBERNETES_ANNOTATION_ID,
  KUBERNETES_ANNOTATION_LABEL_SELECTOR,
  KUBERNETES_ANNOTATION_NAMESPACE,
} from '@ferry/plugin-backup-common';
import type { FerryConfig, PolicyConfig } from '../config/FerryConfig';
import { labelSelectorProblem } from './labelSelector';
import type { ApplicationTarget } from './types';

export interface ResolveApplicationOptions {
  entity: Entity;
  /** Names of the configured clusters (`ClusterRegistry.clusterNames()`). */
  clusters: readonly string[];
  ferryConfig: Pick<FerryConfig, 'policies'>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Helm's release name rule: a DNS-1123 subdomain of at most 53 characters. */
const HELM_RELEASE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Maps a catalog entity to the application it stands for (DESIGN §2), from annotations and
 * configuration only: no API call. Bad annotations are an InputError naming the annotation.
 */
export function resolveApplication(options: ResolveApplicationOptions): ApplicationTarget {
  const { entity, clusters, ferryConfig } = options;
  const entityRef = stringifyEntityRef(entity);
  const annotations = entity.metadata.annotations ?? {};
  const annotation = (name: string) => {
    const value = annotations[name]?.trim();
    return value ? value : undefined;
  };

  const cluster = resolveCluster(entityRef, annotation(FERRY_ANNOTATION_CLUSTER), clusters);

  const namespaceAnnotation = [FERRY_ANNOTATION_NAMESPACE, KUBERNETES_ANNOTATION_NAMESPACE].find(name =>
    annotation(name),
  );
  const namespace = namespaceAnnotation ? annotation(namespaceAnnotation)! : 'default';
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new InputError(
      `annotation ${namespaceAnnotation} of ${entityRef}: '${namespace}' is not a valid namespace name (lower-case letters, digits and '-', at most 63)`,
    );
  }

  const helmReleases = splitList(annotation(FERRY_ANNOTATION_HELM_RELEASE));
  for (const release of helmReleases) {
    if (release.length > 53 || !HELM_RELEASE.test(release)) {
      throw new InputError(
        `annotation ${FERRY_ANNOTATION_HELM_RELEASE} of ${entityRef}: '${release}' is not a valid helm release name`,
      );
    }
  }

  const labelSelectors: string[] = [];
  for (const name of [FERRY_ANNOTATION_LABEL_SELECTOR, KUBERNETES_ANNOTATION_LABEL_SELECTOR]) {
    const selector = annotation(name);
    if (selector) {
      const problem = labelSelectorProblem(selector);
      if (problem) {
        throw new InputError(`annotation ${name} of ${entityRef}: invalid label selector: ${problem}`);
      }
      labelSelectors.push(selector);
    }
  }
  const kubernetesId = annotation(KUBERNETES_ANNOTATION_ID);
  if (kubernetesId) {
    if (kubernetesId.length > 63 || !LABEL_VALUE.test(kubernetesId)) {
      throw new InputError(
        `annotation ${KUBERNETES_ANNOTATION_ID} of ${entityRef}: '${kubernetesId}' is not a valid label value`,
      );
    }
    labelSelectors.push(`${KUBERNETES_ANNOTATION_ID}=${kubernetesId}`);
  }

  const wholeNamespace =
    namespaceAnnotation !== undefined && helmReleases.length === 0 && labelSelectors.length === 0;
  if (!wholeNamespace && helmReleases.length === 0 && labelSelectors.length === 0) {
    throw new InputError(
      `entity ${entityRef} does not say what to back up: annotate it with one of ${APPLICATION_ANNOTATIONS.join(', ')}`,
    );
  }

  const policy = resolvePolicy(entity, entityRef, annotation(FERRY_ANNOTATION_POLICY), ferryConfig.policies);

  return {
    entityRef,
    appId: appIdOf(entity),
    cluster,
    namespace,
    application: {
      helmReleases: [...new Set(helmReleases)],
      labelSelectors: [...new Set(labelSelectors)],
      wholeNamespace,
    },
    ...(policy ? { policy } : {}),
  };
}

/** `<kind>.<namespace>.<name>`, lower-cased: the application's folder in the repository. */
export function appIdOf(entity: Entity): string {
  const namespace = entity.metadata.namespace ?? 'default';
  return `${entity.kind}.${namespace}.${entity.metadata.name}`.toLocaleLowerCase('en-US');
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map(part => part.trim())
    .filter(Boolean);
}

function resolveCluster(entityRef: string, named: string | undefined, clusters: readonly string[]): string {
  if (named) {
    if (!clusters.includes(named)) {
      throw new InputError(
        `annotation ${FERRY_ANNOTATION_CLUSTER} of ${entityRef} names cluster '${named}', which is not configured in kubernetes.clusterLocatorMethods (known: ${clusters.join(', ') || 'none'})`,
      );
    }
    return named;
  }
  if (clusters.length === 1) {
    return clusters[0];
  }
  if (clusters.length === 0) {
    throw new InputError(
      `no kubernetes clusters are configured: add a kubernetes.clusterLocatorMethods entry of type 'config' to app-config`,
    );
  }
  throw new InputError(
    `entity ${entityRef} must name its cluster with annotation ${FERRY_ANNOTATION_CLUSTER}: ${clusters.length} clusters are configured (${clusters.join(', ')})`,
  );
}

function resolvePolicy(
  entity: Entity,
  entityRef: string,
  named: string | undefined,
  policies: readonly PolicyConfig[],
): string | undefined {
  if (named) {
    if (!policies.some(policy => policy.name === named)) {
      throw new InputError(
        `annotation ${FERRY_ANNOTATION_POLICY} of ${entityRef} names policy '${named}', which is not configured in ferry.policies (known: ${policies.map(p => p.name).join(', ') || 'none'})`,
      );
    }
    return named;
  }
  return policies.find(policy => policy.filter && matchesFilter(entity, policy.filter))?.name;
}

/**
 * True when every `path: value` of the filter matches the entity: the path is dotted
 * (`kind`, `spec.lifecycle`, `metadata.namespace`), values compare case-insensitively, an array
 * matches when one element does. `metadata.namespace` defaults to `default`.
 */
export function matchesFilter(entity: Entity, filter: Record<string, string>): boolean {
  return Object.entries(filter).every(([path, expected]) => {
    const actual =
      path === 'metadata.namespace' ? (entity.metadata.namespace ?? 'default') : valueAt(entity, path);
    const candidates = Array.isArray(actual) ? actual : [actual];
    return candidates.some(
      candidate =>
        (typeof candidate === 'string' || typeof candidate === 'number' || typeof candidate === 'boolean') &&
        String(candidate).toLocaleLowerCase('en-US') === expected.toLocaleLowerCase('en-US'),
    );
  });
}

/** Follows a dotted path; keys that contain dots (annotation names) are matched whole first. */
function valueAt(value: unknown, path: string): unknown {
  const parts = path.split('.');
  const walk = (current: unknown, from: number): unknown => {
    if (from === parts.length) {
      return current;
    }
    if (!current || typeof current !== 'object' || Array.isArray(current)) {
      return undefined;
    }
    const record = current as Record<string, unknown>;
    for (let to = parts.length; to > from; to--) {
      const key = parts.slice(from, to).join('.');
      if (Object.prototype.hasOwnProperty.call(record, key)) {
        return walk(record[key], to);
      }
    }
    return undefined;
  };
  return walk(value, 0);
}
