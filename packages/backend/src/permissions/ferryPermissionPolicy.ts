import type { UserInfoService } from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import type {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';

/**
 * The demo deployment's policy: owners of an entity may back it up and restore it themselves
 * (Ferry's per-entity permissions resolve through the catalog's `isEntityOwner` rule);
 * administrators — members of one of `adminRefs` — may do everything Ferry offers on every
 * entity, and alone have the administrators' permissions (restore anywhere, privileged
 * restores, the platform page); everything else is allowed.
 */
export class FerryPermissionPolicy implements PermissionPolicy {
  constructor(
    private readonly options: { adminRefs: string[]; userInfo: UserInfoService },
  ) {}

  async handle(request: PolicyQuery, user?: PolicyQueryUser): Promise<PolicyDecision> {
    if (!request.permission.name.startsWith('backup.')) {
      return { result: AuthorizeResult.ALLOW };
    }
    const claims = user
      ? (await this.options.userInfo.getUserInfo(user.credentials)).ownershipEntityRefs
      : [];
    if (claims.some(ref => this.options.adminRefs.includes(ref))) {
      return { result: AuthorizeResult.ALLOW };
    }
    if (isResourcePermission(request.permission, 'catalog-entity')) {
      return createCatalogConditionalDecision(
        request.permission,
        catalogConditions.isEntityOwner({ claims }),
      );
    }
    return { result: AuthorizeResult.DENY };
  }
}
