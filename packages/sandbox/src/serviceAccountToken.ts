import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Sandbox } from './sandbox';
import { isConflict } from './kube';
import { waitFor } from './waitFor';

export type ServiceAccountTokenOptions = {
  /** Default `ferry-system` (created when missing). */
  namespace?: string;
  /** Default `ferry-backend`. */
  name?: string;
  /** ClusterRole bound to the account. Default `cluster-admin`. */
  clusterRole?: string;
};

async function ignoreConflict(fn: () => Promise<unknown>) {
  try {
    await fn();
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
}

/**
 * A long-lived bearer token of a service account bound to a ClusterRole, as a Backstage
 * Kubernetes cluster entry needs (`authProvider: serviceAccount`). The token comes from a
 * `kubernetes.io/service-account-token` Secret filled by the real token controller.
 */
export async function createServiceAccountToken(
  sandbox: Sandbox,
  options: ServiceAccountTokenOptions = {},
): Promise<{ token: string; namespace: string; name: string }> {
  const namespace = options.namespace ?? 'ferry-system';
  const name = options.name ?? 'ferry-backend';
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  const rbac = sandbox.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await ignoreConflict(() => core.createNamespace({ body: { metadata: { name: namespace } } }));
  await ignoreConflict(() => core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
  await ignoreConflict(() =>
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${namespace}-${name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: options.clusterRole ?? 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    }),
  );
  const secretName = `${name}-token`;
  await ignoreConflict(() =>
    core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: secretName, annotations: { 'kubernetes.io/service-account.name': name } },
        type: 'kubernetes.io/service-account-token',
      },
    }),
  );
  const token = await waitFor(
    async () => {
      const secret = await core.readNamespacedSecret({ name: secretName, namespace });
      const value = secret.data?.token;
      return value ? Buffer.from(value, 'base64').toString() : undefined;
    },
    { description: `the token controller to fill secret ${namespace}/${secretName}` },
  );
  return { token, namespace, name };
}
