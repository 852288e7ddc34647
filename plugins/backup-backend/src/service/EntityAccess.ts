import type {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  CompoundEntityRef,
  Entity,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import {
  APPLICATION_ANNOTATIONS,
  isBackupAvailable,
} from '@ferry/plugin-backup-common';

/**
 * Resolves the catalog entity of a request and checks a Ferry permission on it. The permission is
 * decided first, so a caller who may not see an entity learns nothing about it (403 either way).
 */
export class EntityAccess {
  constructor(
    private readonly options: {
      catalog: CatalogService;
      permissions: PermissionsService;
    },
  ) {}

  async authorize(request: {
    entityRef: CompoundEntityRef;
    permission: ResourcePermission<'catalog-entity'>;
    credentials: BackstageCredentials;
    /** Require the annotations that tell Ferry what to back up (default true). */
    requireApplication?: boolean;
  }): Promise<Entity> {
    const ref = stringifyEntityRef(request.entityRef);
    const [decision] = await this.options.permissions.authorize(
      [{ permission: request.permission, resourceRef: ref }],
      { credentials: request.credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`not allowed to ${request.permission.name} on ${ref}`);
    }
    const entity = await this.options.catalog.getEntityByRef(request.entityRef, {
      credentials: request.credentials,
    });
    if (!entity) {
      throw new NotFoundError(`no catalog entity ${ref}`);
    }
    if ((request.requireApplication ?? true) && !isBackupAvailable(entity)) {
      throw new InputError(
        `entity ${ref} does not say what to back up: annotate it with one of ${APPLICATION_ANNOTATIONS.join(', ')}`,
      );
    }
    return entity;
  }
}
