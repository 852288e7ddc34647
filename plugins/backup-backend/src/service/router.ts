import type { HttpAuthService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  backupReadPermission,
  HealthResponse,
  ListBackupsResponse,
  ListRestoresResponse,
} from '@ferry/plugin-backup-common';
import { stringifyEntityRef } from '@backstage/catalog-model';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import type { OperationIndex } from '../database/OperationIndex';
import type { EntityAccess } from './EntityAccess';

const entityParamsSchema = z.object({
  kind: z.string().min(1),
  namespace: z.string().min(1),
  name: z.string().min(1),
});

const pageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Parses with zod; a failure is a 400 naming each offending field. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues
      .map(issue => `${issue.path.join('.') || what}: ${issue.message}`)
      .join('; ');
    throw new InputError(`invalid ${what}: ${problems}`);
  }
  return result.data;
}

export interface RouterOptions {
  httpAuth: HttpAuthService;
  entityAccess: EntityAccess;
  operationIndex: OperationIndex;
}

export async function createRouter(options: RouterOptions): Promise<express.Router> {
  const { httpAuth, entityAccess, operationIndex } = options;
  const router = Router();
  router.use(express.json());

  router.get('/health', (_req, res) => {
    const body: HealthResponse = { status: 'ok' };
    res.json(body);
  });

  /** Resolves and authorizes the entity named in the path, then reads one page of its history. */
  const entityRequest = async (req: express.Request) => {
    const entityRef = parseInput(entityParamsSchema, req.params, 'entity reference');
    const page = parseInput(pageSchema, req.query, 'query');
    const entity = await entityAccess.authorize({
      entityRef,
      permission: backupReadPermission,
      credentials: await httpAuth.credentials(req, { allow: ['user', 'service'] }),
    });
    return { entityRef: stringifyEntityRef(entity), page };
  };

  router.get('/entities/:kind/:namespace/:name/backups', async (req, res) => {
    const query = await entityRequest(req);
    const body: ListBackupsResponse = {
      entityRef: query.entityRef,
      ...(await operationIndex.listBackups(query)),
    };
    res.json(body);
  });

  router.get('/entities/:kind/:namespace/:name/restores', async (req, res) => {
    const query = await entityRequest(req);
    const body: ListRestoresResponse = {
      entityRef: query.entityRef,
      ...(await operationIndex.listRestores(query)),
    };
    res.json(body);
  });

  return router;
}
