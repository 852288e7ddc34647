import type { V1OwnerReference } from '@kubernetes/client-node';

/** The Ferry resource that owns the temporary objects of an operation. */
export interface OperationOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** Value of the `ferry.io/backup` or `ferry.io/restore` label on temporary objects. */
  labels: Record<string, string>;
}

/**
 * Owner reference to the operation's resource, so that Kubernetes' garbage collector removes
 * whatever a crash left behind once the resource is deleted.
 */
export function ownerReferenceTo(owner: OperationOwner): V1OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: false,
  };
}
