import type {
  AuditorService,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  backupReadPermission,
  backupRestoreAnywherePermission,
  backupRestorePermission,
  backupRestorePrivilegedPermission,
} from '@ferry/plugin-backup-common';
import type { Request, Router } from 'express';
import { z } from 'zod';
import type { FerryConfig } from '../config/FerryConfig';
import { resolveApplication } from '../mapping/resolveApplication';
import type { EntityAccess } from './EntityAccess';
import { registerRestoreOptionsRoute } from './restoreOptionsRoute';
import type { RestoreService } from './RestoreService';
import { streamOperation } from './streamOperation';
import { entityParamsSchema, parseInput } from './validation';

const OPERATION_ID = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
/** A restore id: Ferry's (time + random), or the resource's uid for a Restore applied with kubectl. */
const RESTORE_ID = /^(\d{8}T\d{9}Z-[0-9a-f]{6}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const jsonPatchOperationSchema = z
  .object({
    op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
    path: z.string().regex(/^(\/.*)?$/, 'must be a JSON pointer ("" or starting with "/")'),
    value: z.unknown().optional(),
    from: z.string().regex(/^(\/.*)?$/, 'must be a JSON pointer ("" or starting with "/")').optional(),
  })
  .strict();

export const restoreRequestSchema = z
  .object({
    backupId: z.string().regex(OPERATION_ID, 'is not a backup id'),
    cluster: z.string().min(1).optional(),
    namespace: z.string().max(63).regex(DNS_LABEL, 'is not a valid namespace name').optional(),
    dryRun: z.boolean().optional(),
    scope: z.enum(['all', 'metadata-only', 'data-only']).optional(),
    existing: z.enum(['skip', 'patch']).optional(),
    omitLabels: z.array(z.string().min(1)).optional(),
    omitAnnotations: z.array(z.string().min(1)).optional(),
    transforms: z
      .object({
        namespaceMap: z.record(z.string().regex(DNS_LABEL, 'is not a valid namespace name')).optional(),
        storageClassMap: z.record(z.string().min(1)).optional(),
        patches: z
          .array(
            z
              .object({
                target: z
                  .object({
                    kind: z.string().min(1),
                    name: z.string().min(1).optional(),
                    labelSelector: z.string().min(1).optional(),
                  })
                  .strict(),
                operations: z.array(jsonPatchOperationSchema).min(1),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .optional(),
    imageRestore: z
      .object({
        registry: z
          .string()
          .regex(/^([a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/, 'must be a registry host[:port], without a scheme or path'),
        repository: z
          .string()
          .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, 'must be a repository path (lower-case components separated by /)')
          .optional(),
        authSecret: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be the name of a Secret')
          .max(253)
          .optional(),
        overrideImageIfExist: z.boolean().optional(),
      })
      .strict()
      .optional(),
    readyTimeoutSeconds: z.number().int().min(0).max(3600).optional(),
  })
  .strict();

const restoreParamsSchema = entityParamsSchema.extend({
  id: z.string().regex(RESTORE_ID, 'is not a restore id'),
});

export interface RestoreRoutesOptions {
  router: Router;
  httpAuth: HttpAuthService;
  auditor: AuditorService;
  permissions: PermissionsService;
  entityAccess: EntityAccess;
  restores: RestoreService;
  clusterNames: () => string[];
  ferryConfig: FerryConfig;
  pollIntervalMs?: number;
}

/**
 * Create (or dry-run), read and follow the restores of an entity (see backup-common operations.ts),
 * and say where its backups may be restored (restoreOptionsRoute.ts).
 */
export function registerRestoreRoutes(options: RestoreRoutesOptions): void {
  const { router, httpAuth, auditor, entityAccess, restores, ferryConfig } = options;

  router.post('/entities/:kind/:namespace/:name/restores', async (req, res) => {
    const params = parseInput(entityParamsSchema, req.params, 'path');
    const request = parseInput(restoreRequestSchema, req.body ?? {}, 'request body');
    const audit = await auditor.createEvent({
      eventId: request.dryRun ? 'restore-dry-run' : 'restore-create',
      request: req,
      meta: {
        entity: `${params.kind}:${params.namespace}/${params.name}`,
        backupId: request.backupId,
        namespace: request.namespace,
        dryRun: request.dryRun ?? false,
      },
    });
    try {
      const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
      const entity = await entityAccess.authorize({ entityRef: params, permission: backupRestorePermission, credentials });
      const target = resolveApplication({ entity, clusters: options.clusterNames(), ferryConfig });
      const [anywhere, privileged] = await options.permissions.authorize(
        [{ permission: backupRestoreAnywherePermission }, { permission: backupRestorePrivilegedPermission }],
        { credentials },
      );
      const permissions = {
        anywhere: anywhere.result === AuthorizeResult.ALLOW,
        privileged: privileged.result === AuthorizeResult.ALLOW,
      };
      if (request.dryRun) {
        const result = await restores.dryRun({ target, request, permissions });
        await audit.success({ meta: { dryRun: true } });
        res.status(200).json(result);
        return;
      }
      const userEntityRef =
        credentials.principal.type === 'user' ? credentials.principal.userEntityRef : undefined;
      const summary = await restores.createRestore({ target, request, permissions, userEntityRef });
      await audit.success({ meta: { restoreId: summary.id } });
      res.status(201).json(summary);
    } catch (error) {
      await audit.fail({ error: error as Error });
      throw error;
    }
  });

  const authorized = async (req: Request) => {
    const params = parseInput(restoreParamsSchema, req.params, 'path');
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const entity = await entityAccess.authorize({ entityRef: params, permission: backupReadPermission, credentials });
    const target = resolveApplication({ entity, clusters: options.clusterNames(), ferryConfig });
    return { entityRef: target.entityRef, id: params.id };
  };

  router.get('/entities/:kind/:namespace/:name/restores/:id', async (req, res) => {
    res.json(await restores.getRestore(await authorized(req)));
  });

  router.get('/entities/:kind/:namespace/:name/restores/:id/events', async (req, res) => {
    const query = await authorized(req);
    await streamOperation({
      req,
      res,
      load: () => restores.getRestore(query),
      intervalMs: options.pollIntervalMs,
    });
  });

  registerRestoreOptionsRoute({
    router,
    httpAuth,
    permissions: options.permissions,
    entityAccess,
    clusterNames: options.clusterNames,
    ferryConfig,
  });
}
