import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  backupAdminReadPermission,
  backupCreatePermission,
  backupPermissions,
  backupRestoreAnywherePermission,
  backupRestorePrivilegedPermission,
} from '@ferry/plugin-backup-common';
import { FerryPermissionPolicy } from './ferryPermissionPolicy';

import { mockCredentials } from '@backstage/backend-test-utils';

const claimsOf: Record<string, string[]> = {
  'user:default/ann': ['user:default/ann', 'group:default/team-shop'],
  'user:default/root': ['user:default/root', 'group:default/platform-team'],
};
const userInfo = {
  getUserInfo: async (credentials: any) => ({
    userEntityRef: credentials.principal.userEntityRef,
    ownershipEntityRefs: claimsOf[credentials.principal.userEntityRef] ?? [credentials.principal.userEntityRef],
  }),
};
const user = (userEntityRef: string) => {
  const credentials = mockCredentials.user(userEntityRef);
  return { credentials, info: { userEntityRef, ownershipEntityRefs: [] } };
};

describe('FerryPermissionPolicy', () => {
  const policy = new FerryPermissionPolicy({
    adminRefs: ['group:default/platform-team'],
    userInfo,
  });

  it('answers entity permissions with the catalog isEntityOwner condition', async () => {
    const decision = await policy.handle(
      { permission: backupCreatePermission },
      user('user:default/ann'),
    );
    expect(decision).toEqual({
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'catalog',
      resourceType: 'catalog-entity',
      conditions: {
        rule: 'IS_ENTITY_OWNER',
        resourceType: 'catalog-entity',
        params: { claims: ['user:default/ann', 'group:default/team-shop'] },
      },
    });
  });

  it.each([backupRestoreAnywherePermission, backupRestorePrivilegedPermission, backupAdminReadPermission])(
    'allows administrators only for admin permission %p',
    async permission => {
      const admin = await policy.handle({ permission }, user('user:default/root'));
      const owner = await policy.handle({ permission }, user('user:default/ann'));
      expect(admin.result).toBe(AuthorizeResult.ALLOW);
      expect(owner.result).toBe(AuthorizeResult.DENY);
    },
  );

  it.each(backupPermissions.map(p => [p.name, p] as const))(
    'allows administrators %s on every entity, owned or not',
    async (_name, permission) => {
      const decision = await policy.handle({ permission }, user('user:default/root'));
      expect(decision).toEqual({ result: AuthorizeResult.ALLOW });
    },
  );

  it('denies a user without claims the administrators\' permissions', async () => {
    const decision = await policy.handle({ permission: backupAdminReadPermission }, user('user:default/nobody'));
    expect(decision.result).toBe(AuthorizeResult.DENY);
  });

  it('leaves permissions of other plugins alone', async () => {
    const decision = await policy.handle(
      { permission: { type: 'basic', name: 'catalog.entity.create', attributes: {} } },
      user('user:default/ann'),
    );
    expect(decision.result).toBe(AuthorizeResult.ALLOW);
  });
});
