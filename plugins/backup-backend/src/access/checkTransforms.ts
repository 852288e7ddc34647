import { InputError, NotAllowedError } from '@backstage/errors';
import type { RestoreTransforms } from '../controller/RestoreResource';
import { classifyOperation } from './patchRules';
import { mayWriteInto, RestoreGrants } from './RestoreGrants';

/**
 * Checks a restore's transforms against the grants before anything is looked up (DESIGN §8):
 * a patch may never change what an object is or where it goes (400 naming the operation), a
 * privileged change needs privileged grants, and every namespace `namespaceMap` sends objects to
 * must be one the grants allow (403 naming the entry). The final objects are checked again after
 * all transforms (`checkRestoredObjects`).
 */
export function checkTransforms(transforms: RestoreTransforms | undefined, grants: RestoreGrants): void {
  for (const [from, to] of Object.entries(transforms?.namespaceMap ?? {})) {
    if (from !== to && !mayWriteInto(grants, to)) {
      throw new NotAllowedError(`transforms.namespaceMap.${from}: restoring into namespace ${to} ${grants.namespaceRule}`);
    }
  }
  for (const [index, patch] of (transforms?.patches ?? []).entries()) {
    for (const [position, operation] of patch.operations.entries()) {
      const field = `transforms.patches.${index}.operations.${position}`;
      const where = operation.op === 'move' ? `${operation.from} → ${operation.path}` : operation.path || '(the whole object)';
      const verdict = classifyOperation(patch.target.kind, operation);
      if (verdict === 'identity') {
        throw new InputError(
          `${field}: '${operation.op} ${where}' may not change an object's apiVersion, kind, name or namespace (the namespace changes only through namespace and transforms.namespaceMap)`,
        );
      }
      if (verdict === 'privileged' && !grants.privileged) {
        throw new NotAllowedError(
          `${field}: '${operation.op} ${where}' on a ${patch.target.kind} may widen privileges and ${grants.privilegeRule}; a service owner may patch labels, annotations, replicas, a container's image, command, args, env and resources, a claim's storage class and size, and ConfigMap/Secret data`,
        );
      }
    }
  }
}

/** True when a patch changes something only privileged grants allow. */
export function usesPrivilegedPatches(transforms: RestoreTransforms | undefined): boolean {
  return (transforms?.patches ?? []).some(patch =>
    patch.operations.some(operation => classifyOperation(patch.target.kind, operation) !== 'owner'),
  );
}
