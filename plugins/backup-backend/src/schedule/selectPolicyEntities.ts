import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { FERRY_ANNOTATION_POLICY, isBackupAvailable } from '@ferry/plugin-backup-common';
import type { FerryConfig, PolicyConfig } from '../config/FerryConfig';
import { matchesFilter, resolveApplication } from '../mapping/resolveApplication';
import type { ApplicationTarget } from '../mapping/types';

/** An entity that looks meant for the policy but whose annotations do not resolve. */
export interface UnresolvedEntity {
  entityRef: string;
  reason: string;
}

export interface PolicyEntities {
  /** The applications whose policy (as the API resolves it) is this one. */
  selected: ApplicationTarget[];
  /** Entities that name the policy or match its filter but cannot be resolved: say why. */
  unresolved: UnresolvedEntity[];
}

/**
 * The catalog entities a policy applies to, decided by the same `resolveApplication` the API
 * uses: `ferry.io/policy`, else the first policy whose filter matches (a policy without a filter
 * applies only to entities that name it). Pure: no catalog or cluster call.
 */
export function selectPolicyEntities(options: {
  entities: readonly Entity[];
  policy: Pick<PolicyConfig, 'name' | 'filter'>;
  clusters: readonly string[];
  ferryConfig: Pick<FerryConfig, 'policies'>;
}): PolicyEntities {
  const { policy, clusters, ferryConfig } = options;
  const selected: ApplicationTarget[] = [];
  const unresolved: UnresolvedEntity[] = [];
  for (const entity of options.entities) {
    if (!isBackupAvailable(entity)) continue;
    try {
      const target = resolveApplication({ entity, clusters, ferryConfig });
      if (target.policy === policy.name) selected.push(target);
    } catch (error) {
      if (looksMeantFor(entity, policy)) {
        unresolved.push({ entityRef: stringifyEntityRef(entity), reason: (error as Error).message });
      }
    }
  }
  return { selected, unresolved };
}

function looksMeantFor(entity: Entity, policy: Pick<PolicyConfig, 'name' | 'filter'>): boolean {
  const named = entity.metadata.annotations?.[FERRY_ANNOTATION_POLICY]?.trim();
  if (named) return named === policy.name;
  return Boolean(policy.filter && matchesFilter(entity, policy.filter));
}
