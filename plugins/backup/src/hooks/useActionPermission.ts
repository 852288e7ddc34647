import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  BasicPermission,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import { usePermission } from '@backstage/plugin-permission-react';

export interface PermissionState {
  allowed: boolean;
  loading: boolean;
  /** Why the action is disabled, for a tooltip; undefined when allowed. */
  reason?: string;
}

/**
 * Whether the signed-in user may do `permission`: a resource permission on the entity, or a
 * basic permission. `action` words the reason shown when it is not allowed: "You are not allowed
 * to <action> <entity ref> (<permission>)." 
 */
export function useActionPermission(
  options:
    | { permission: ResourcePermission<'catalog-entity'>; entity: Entity; action: string }
    | { permission: BasicPermission; action: string },
): PermissionState {
  const resourceRef = 'entity' in options ? stringifyEntityRef(options.entity) : undefined;
  const { allowed, loading, error } = usePermission(
    'entity' in options
      ? { permission: options.permission, resourceRef }
      : { permission: options.permission },
  );
  if (loading) {
    return { allowed: false, loading: true, reason: 'Checking permissions…' };
  }
  if (error) {
    return {
      allowed: false,
      loading: false,
      reason: `Could not check the ${options.permission.name} permission: ${error.message}`,
    };
  }
  if (!allowed) {
    const on = resourceRef ? ` ${resourceRef}` : '';
    return {
      allowed: false,
      loading: false,
      reason: `You are not allowed to ${options.action}${on} (${options.permission.name}).`,
    };
  }
  return { allowed: true, loading: false };
}
