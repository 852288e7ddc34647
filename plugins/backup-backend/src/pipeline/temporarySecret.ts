import { createIfAbsent, KubeClients } from './KubeClients';
import { OperationOwner, ownerReferencesIn } from './OwnerRef';

/**
 * Creates (once: idempotent for a resumed run) a Secret that lives as long as the operation: it
 * carries the operation's labels, so the cleanup removes it, and an owner reference when the
 * operation's resource is in the same namespace. Credentials for datamover pods go here and are
 * mounted as files, never into a pod spec.
 */
export async function createTemporarySecret(options: {
  kube: KubeClients;
  namespace: string;
  name: string;
  owner: OperationOwner;
  type: 'Opaque' | 'kubernetes.io/dockerconfigjson';
  stringData: Record<string, string>;
}): Promise<void> {
  await createIfAbsent(() =>
    options.kube.core.createNamespacedSecret({
      namespace: options.namespace,
      body: {
        metadata: {
          name: options.name,
          namespace: options.namespace,
          labels: options.owner.labels,
          ownerReferences: ownerReferencesIn(options.owner, options.namespace),
        },
        type: options.type,
        stringData: options.stringData,
      },
    }),
  );
}
