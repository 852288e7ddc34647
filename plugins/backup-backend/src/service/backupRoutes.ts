import type {
  AuditorService,
  HttpAuthService,
} from '@backstage/backend-plugin-api';
import {
  backupCreatePermission,
  backupDeletePermission,
  backupReadPermission,
} from '@ferry/plugin-backup-common';
import type { Request, Router } from 'express';
import { z } from 'zod';
import type { FerryConfig } from '../config/FerryConfig';
import { resolveApplication } from '../mapping/resolveApplication';
import type { BackupService } from './BackupService';
import type { EntityAccess } from './EntityAccess';
import { streamOperation } from './streamOperation';
import { entityParamsSchema, parseInput } from './validation';

const createBackupSchema = z
  .object({
    type: z.enum(['auto', 'full', 'incremental']).optional(),
    target: z.string().min(1).optional(),
    policy: z.string().min(1).optional(),
    skipImageBackup: z.boolean().optional(),
  })
  .strict();

const backupParamsSchema = entityParamsSchema.extend({
  id: z.string().regex(/^\d{8}T\d{9}Z-[0-9a-f]{6}$/, 'is not a backup id'),
});

export interface BackupRoutesOptions {
  router: Router;
  httpAuth: HttpAuthService;
  auditor: AuditorService;
  entityAccess: EntityAccess;
  backups: BackupService;
  clusterNames: () => string[];
  ferryConfig: FerryConfig;
  /** How often the event stream looks for changes (ms). */
  pollIntervalMs?: number;
}

/** Create, read, follow and delete the backups of an entity (see backup-common operations.ts). */
export function registerBackupRoutes(options: BackupRoutesOptions): void {
  const { router, httpAuth, auditor, entityAccess, backups, ferryConfig } = options;

  const authorized = async (
    req: Request,
    permission: typeof backupReadPermission,
    schema: typeof entityParamsSchema | typeof backupParamsSchema = entityParamsSchema,
  ) => {
    const params = parseInput(schema, req.params, 'path');
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const entity = await entityAccess.authorize({ entityRef: params, permission, credentials });
    const target = resolveApplication({ entity, clusters: options.clusterNames(), ferryConfig });
    const userEntityRef =
      credentials.principal.type === 'user' ? credentials.principal.userEntityRef : undefined;
    return { target, userEntityRef, id: (params as { id?: string }).id ?? '' };
  };

  router.post('/entities/:kind/:namespace/:name/backups', async (req, res) => {
    const request = parseInput(createBackupSchema, req.body ?? {}, 'request body');
    const audit = await auditor.createEvent({
      eventId: 'backup-create',
      request: req,
      meta: { entity: `${req.params.kind}:${req.params.namespace}/${req.params.name}`, request },
    });
    try {
      const { target, userEntityRef } = await authorized(req, backupCreatePermission);
      const summary = await backups.createBackup({ target, request, userEntityRef });
      await audit.success({ meta: { backupId: summary.id } });
      res.status(201).json(summary);
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw error;
    }
  });

  router.get('/entities/:kind/:namespace/:name/backups/:id', async (req, res) => {
    const { target, id } = await authorized(req, backupReadPermission, backupParamsSchema);
    res.json(await backups.getBackup({ entityRef: target.entityRef, id }));
  });

  router.delete('/entities/:kind/:namespace/:name/backups/:id', async (req, res) => {
    const audit = await auditor.createEvent({
      eventId: 'backup-delete',
      request: req,
      meta: { entity: `${req.params.kind}:${req.params.namespace}/${req.params.name}`, backupId: req.params.id },
    });
    try {
      const { target, id } = await authorized(req, backupDeletePermission, backupParamsSchema);
      await backups.deleteBackup({ target, id });
      await audit.success();
      res.status(204).end();
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw error;
    }
  });

  router.get('/entities/:kind/:namespace/:name/backups/:id/events', async (req, res) => {
    const { target, id } = await authorized(req, backupReadPermission, backupParamsSchema);
    await streamOperation({
      req,
      res,
      load: () => backups.getBackup({ entityRef: target.entityRef, id }),
      intervalMs: options.pollIntervalMs,
    });
  });
}
