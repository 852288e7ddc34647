import type { HttpAuthService, LoggerService } from '@backstage/backend-plugin-api';
import { backupReadPermission, BackupPlan } from '@ferry/plugin-backup-common';
import type { Router } from 'express';
import type { FerryConfig } from '../config/FerryConfig';
import type { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import { collectApplication } from '../mapping/collectApplication';
import { resolveApplication } from '../mapping/resolveApplication';
import type { EntityAccess } from './EntityAccess';
import { entityParamsSchema, parseInput } from './validation';

export interface PlanRouteOptions {
  router: Router;
  httpAuth: HttpAuthService;
  entityAccess: EntityAccess;
  clusters: Pick<ClusterRegistry, 'clusterNames' | 'getKubeConfig'>;
  ferryConfig: FerryConfig;
  logger?: LoggerService;
}

/** The target a backup of the entity would go to: its policy's, else the default, else the first. */
export function planTarget(ferryConfig: FerryConfig, policyName?: string): string | undefined {
  const policy = ferryConfig.policies.find(p => p.name === policyName);
  return policy?.target ?? ferryConfig.defaultTarget ?? ferryConfig.targets[0]?.name;
}

/**
 * `GET /entities/:kind/:namespace/:name/plan` → BackupPlan: what a backup of the entity would
 * contain, read live from its cluster (permission `backup.read`). Nothing is written.
 */
export function registerPlanRoute(options: PlanRouteOptions): void {
  const { router, httpAuth, entityAccess, clusters, ferryConfig, logger } = options;
  router.get('/entities/:kind/:namespace/:name/plan', async (req, res) => {
    const entityRef = parseInput(entityParamsSchema, req.params, 'entity reference');
    const entity = await entityAccess.authorize({
      entityRef,
      permission: backupReadPermission,
      credentials: await httpAuth.credentials(req, { allow: ['user', 'service'] }),
    });
    const target = resolveApplication({ entity, clusters: clusters.clusterNames(), ferryConfig });
    const kubeConfig = await clusters.getKubeConfig(target.cluster);
    const snapshot = await collectApplication({ kubeConfig, target, logger });
    const backupTarget = planTarget(ferryConfig, target.policy);
    const warnings = [...snapshot.warnings];
    if (!backupTarget) {
      warnings.push('no backup target is configured (ferry.targets): a backup cannot run');
    }
    const body: BackupPlan = {
      entityRef: target.entityRef,
      cluster: target.cluster,
      namespace: target.namespace,
      application: target.application,
      target: backupTarget ?? '',
      ...(target.policy ? { policy: target.policy } : {}),
      resources: snapshot.resources,
      volumes: snapshot.volumes,
      images: snapshot.images,
      warnings,
    };
    res.json(body);
  });
}
