import type { V1OwnerReference } from '@kubernetes/client-node';

/** The Ferry resource that owns the temporary objects of an operation. */
export interface OperationOwner {
  apiVersion: string;
  kind: string;
  name: string;
  /** Namespace of the owning resource. */
  namespace: string;
  uid: string;
  /** Value of the `ferry.io/backup` or `ferry.io/restore` label on temporary objects. */
  labels: Record<string, string>;
}

/**
 * Owner references for a temporary object in `namespace`, so that Kubernetes' garbage collector
 * removes whatever a crash left behind once the operation's resource is deleted.
 *
 * Only within the owner's own namespace: the garbage collector looks a namespaced owner up in
 * the dependent's namespace and deletes the dependent when it is not there, so a reference
 * across namespaces would delete the temporary at once. A Restore kept in Ferry's namespace
 * (its target namespace did not exist yet) leaves its temporaries to the label-driven cleanup,
 * which every run and every resumed run does.
 */
export function ownerReferencesIn(owner: OperationOwner, namespace: string): V1OwnerReference[] {
  if (owner.namespace !== namespace) return [];
  return [
    {
      apiVersion: owner.apiVersion,
      kind: owner.kind,
      name: owner.name,
      uid: owner.uid,
      controller: true,
      blockOwnerDeletion: false,
    },
  ];
}
