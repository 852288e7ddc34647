import type { Entity } from '@backstage/catalog-model';
import type { FerryConfig } from '../config/FerryConfig';
import { resolveApplication } from '../mapping/resolveApplication';
import type { ApplicationTarget } from '../mapping/types';

/** The applications of the entities that resolve (as the API resolves them); the others are left out. */
export function resolveEntities(options: {
  entities: readonly Entity[];
  clusters: readonly string[];
  ferryConfig: Pick<FerryConfig, 'policies'>;
}): ApplicationTarget[] {
  const targets: ApplicationTarget[] = [];
  for (const entity of options.entities) {
    try {
      targets.push(
        resolveApplication({ entity, clusters: options.clusters, ferryConfig: options.ferryConfig }),
      );
    } catch {
      // Not resolvable now: its backups cannot be deleted through the API either.
    }
  }
  return targets;
}
