import type {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import {
  backupAdminReadPermission,
  backupReadPermission,
  BackupSummary,
  isBackupAvailable,
  PlatformOverview,
} from '@ferry/plugin-backup-common';
import type { Router } from 'express';
import type { FerryConfig } from '../config/FerryConfig';
import type { OperationIndex } from '../database/OperationIndex';
import { resolveApplication } from '../mapping/resolveApplication';
import { nextRunOf } from '../schedule/cronSchedule';
import type { TargetRegistry } from '../targets/TargetRegistry';
import type { EntityAccess } from './EntityAccess';
import { protectionOf } from './protection';
import { entityParamsSchema, parseInput } from './validation';
import { targetProtection } from '../protection/targetProtection';

export interface OverviewRoutesOptions {
  router: Router;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  entityAccess: EntityAccess;
  catalog: CatalogService;
  index: OperationIndex;
  targets: TargetRegistry;
  ferryConfig: FerryConfig;
  clusterNames: () => string[];
}

/** The entity's protection state (overview card) and the platform team's page. */
export function registerOverviewRoutes(options: OverviewRoutesOptions): void {
  const { router, httpAuth, entityAccess, index, ferryConfig } = options;

  /** The entity's policy, when its annotations resolve (the status does not need a cluster). */
  const policyOf = (entity: Entity) => {
    try {
      return resolveApplication({ entity, clusters: options.clusterNames(), ferryConfig }).policy;
    } catch {
      return undefined;
    }
  };

  /** When the policy's schedule next fires; undefined for a policy without a schedule. */
  const nextRunOfPolicy = (name: string | undefined) => {
    const schedule = ferryConfig.policies.find(p => p.name === name)?.schedule;
    return schedule ? nextRunOf(schedule) : undefined;
  };

  router.get('/entities/:kind/:namespace/:name/status', async (req, res) => {
    const entityRef = parseInput(entityParamsSchema, req.params, 'path');
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const entity = await entityAccess.authorize({
      entityRef,
      permission: backupReadPermission,
      credentials,
    });
    const ref = stringifyEntityRef(entity);
    const { items } = await index.listBackups({ entityRef: ref, page: { limit: 50, offset: 0 } });
    const policy = policyOf(entity);
    const nextScheduledRun = nextRunOfPolicy(policy);
    res.json({
      ...protectionOf({ entityRef: ref, backups: items, policy }),
      ...(nextScheduledRun ? { nextScheduledRun } : {}),
    });
  });

  router.get('/platform', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const [decision] = await options.permissions.authorize(
      [{ permission: backupAdminReadPermission }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError('not allowed to backup.admin.read: the platform page is for administrators');
    }
    const backups = await index.allBackups();
    const { items: entities } = await options.catalog.getEntities(
      { filter: { kind: 'Component' } },
      { credentials },
    );
    const body: PlatformOverview = {
      targets: await Promise.all(
        options.targets.names().map(async name => {
          const config = options.targets.config(name);
          const usedBytes = sum(backups.filter(b => b.target === name).map(b => b.storedBytes));
          const protection = await targetProtection(options.targets, name);
          const extra = protection ? { protection } : {};
          try {
            const repository = await options.targets.repository(name);
            await repository.listApps();
            return { name, type: config.type, healthy: true, usedBytes, ...extra };
          } catch (error) {
            return { name, type: config.type, healthy: false, message: String((error as Error).message), usedBytes, ...extra };
          }
        }),
      ),
      policies: ferryConfig.policies.map(policy => ({
        name: policy.name,
        target: policy.target ?? options.targets.defaultName() ?? '',
        schedule: policy.schedule,
        nextRun: nextRunOfPolicy(policy.name),
        keepLast: policy.keepLast,
        fullEvery: policy.fullEvery,
        skipImageBackup: policy.skipImageBackup,
        ...(policy.compression ? { compression: policy.compression } : {}),
      })),
      coverage: entities.filter(isBackupAvailable).map(entity => {
        const entityRef = stringifyEntityRef(entity);
        const own = backups.filter(b => b.entityRef === entityRef).reverse();
        const status = protectionOf({ entityRef, backups: own });
        return {
          entityRef,
          title: entity.metadata.title ?? entity.metadata.name,
          protection: status.protection,
          lastBackupAt: status.lastSuccessfulBackup?.completedAt,
        };
      }),
      storedBytesOverTime: storedOverTime(backups),
    };
    res.json(body);
  });
}

function sum(values: Array<number | undefined>): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

/** Per day: bytes on the targets so far, and what full copies of every backup would have taken. */
function storedOverTime(backups: BackupSummary[]): PlatformOverview['storedBytesOverTime'] {
  const days = new Map<string, { stored: number; logical: number }>();
  for (const backup of backups) {
    if (backup.phase !== 'Completed' && backup.phase !== 'PartiallyFailed') continue;
    const day = (backup.completedAt ?? backup.createdAt).slice(0, 10);
    const entry = days.get(day) ?? { stored: 0, logical: 0 };
    entry.stored += backup.storedBytes ?? 0;
    entry.logical += backup.logicalBytes ?? 0;
    days.set(day, entry);
  }
  let stored = 0;
  let logical = 0;
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([date, entry]) => {
      stored += entry.stored;
      logical += entry.logical;
      return { date, storedBytes: stored, logicalBytes: logical };
    });
}
