import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Ferry's permissions. The per-entity ones are resource permissions on catalog entities, so a
 * policy can answer them with the catalog's rules (e.g. `isEntityOwner` for self-service).
 */
const RESOURCE_TYPE_CATALOG_ENTITY = 'catalog-entity';

export const backupReadPermission = createPermission({
  name: 'backup.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const backupCreatePermission = createPermission({
  name: 'backup.create',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const backupDeletePermission = createPermission({
  name: 'backup.delete',
  attributes: { action: 'delete' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const backupRestorePermission = createPermission({
  name: 'backup.restore',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Restoring into a namespace or cluster the entity does not own: an administrator's permission. */
export const backupRestoreAnywherePermission = createPermission({
  name: 'backup.restore.anywhere',
  attributes: { action: 'create' },
});

/**
 * Restoring what widens privileges: cluster-scoped objects, patches of anything but the fields a
 * service owner may change (image, replicas, env, resources, labels, annotations, storage class,
 * configuration data), e.g. a securityContext, hostPath, hostNetwork, serviceAccountName or an RBAC
 * object; pushing images with a registry Secret of Ferry's namespace to a repository path of one's
 * choice or over an existing tag. An administrator's permission.
 */
export const backupRestorePrivilegedPermission = createPermission({
  name: 'backup.restore.privileged',
  attributes: { action: 'create' },
});

/** The platform page: targets, policies and coverage across the catalog. */
export const backupAdminReadPermission = createPermission({
  name: 'backup.admin.read',
  attributes: { action: 'read' },
});

export const backupPermissions = [
  backupReadPermission,
  backupCreatePermission,
  backupDeletePermission,
  backupRestorePermission,
  backupRestoreAnywherePermission,
  backupRestorePrivilegedPermission,
  backupAdminReadPermission,
];
