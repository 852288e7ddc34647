import { KubeConfig } from '@kubernetes/client-node';
import { createIfAbsent, isNotFound, KubeClients, sleep } from '../pipeline/KubeClients';
import type { OperationOwner } from '../pipeline/OwnerRef';
import { ownerReferencesIn } from '../pipeline/OwnerRef';

/**
 * The identity through which a restore applies the application's objects (DESIGN §8, defense in
 * depth): the backend impersonates the user `ferry:restorer`, which has no rights of its own; a
 * restore binds it, for its duration, to the ClusterRole `ferry-restorer` in each namespace it
 * was authorised to write into (a RoleBinding labelled with the restore, removed by its
 * cleanup). So even a logic error cannot write outside those namespaces.
 *
 * A user, not a service account: no token can be made for a user, so no pod of the namespace can
 * borrow these rights while a restore runs. The backend needs `impersonate` on `users` named
 * `ferry:restorer` and `bind` on the ClusterRole `ferry-restorer` (or the role's rights).
 */
export const RESTORER_USER = 'ferry:restorer';
export const RESTORER_ROLE = 'ferry-restorer';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';

/** Everything in a namespace (namespaced rules only take effect through a RoleBinding). */
const RESTORER_ROLE_BODY = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: RESTORER_ROLE, labels: { 'app.kubernetes.io/managed-by': 'ferry' } },
  rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
};

/** The RoleBinding that lends `ferry-restorer` to a restore in one namespace. */
export function restorerBindingName(restoreId: string): string {
  return `ferry-restorer-${restoreId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63).replace(/-+$/, '');
}

/** Creates the ClusterRole when the cluster does not have it yet (the Helm chart ships it). */
export async function ensureRestorerRole(kube: KubeClients): Promise<void> {
  const exists = await kube.json.get(`${RBAC}/clusterroles/${RESTORER_ROLE}`).then(
    () => true,
    error => (isNotFound(error) ? false : Promise.reject(error)),
  );
  if (!exists) await createIfAbsent(() => kube.json.post(`${RBAC}/clusterroles`, RESTORER_ROLE_BODY));
}

/**
 * Binds the restorer in `namespace` for the restore and waits until the API server's authorizer
 * sees the binding (RBAC is evaluated from a cache).
 */
export async function bindRestorer(options: {
  kube: KubeClients;
  restorer: KubeClients;
  namespace: string;
  restoreId: string;
  owner: OperationOwner;
}): Promise<void> {
  const { kube, namespace } = options;
  await createIfAbsent(() =>
    kube.json.post(`${RBAC}/namespaces/${encodeURIComponent(namespace)}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {
        name: restorerBindingName(options.restoreId),
        namespace,
        labels: options.owner.labels,
        ownerReferences: ownerReferencesIn(options.owner, namespace),
      },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: RESTORER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: RESTORER_USER }],
    }),
  );
  for (let attempt = 0; ; attempt++) {
    const review = await options.restorer.json.post<{ status?: { allowed?: boolean } }>(
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace, verb: 'create', resource: 'configmaps' } },
      },
    );
    if (review.status?.allowed) return;
    if (attempt >= 50) {
      throw new Error(`the restore's identity ${RESTORER_USER} did not get rights in namespace ${namespace} within 10 s`);
    }
    await sleep(200);
  }
}

/** Removes the restore's bindings from the namespaces it wrote into. */
export async function unbindRestorer(options: { kube: KubeClients; namespaces: Iterable<string>; restoreId: string }) {
  for (const namespace of options.namespaces) {
    await options.kube.json
      .delete(`${RBAC}/namespaces/${encodeURIComponent(namespace)}/rolebindings/${restorerBindingName(options.restoreId)}`)
      .catch(error => (isNotFound(error) ? undefined : Promise.reject(error)));
  }
}

/** The cluster's clients acting as `user` (Kubernetes impersonation). */
export function impersonating(kube: KubeClients, user: string): KubeClients {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: kube.kubeConfig.clusters,
    contexts: kube.kubeConfig.contexts,
    currentContext: kube.kubeConfig.currentContext,
    users: kube.kubeConfig.users.map(u => ({ ...u, impersonateUser: user })),
  });
  return new KubeClients(kube.cluster, config);
}

/**
 * The restorer for a dry run's server-side apply previews (`existing: patch`): bound in a
 * namespace the first time an object there needs a preview, unbound by `release`. The dry run
 * changes no object of the application; its only write is this binding of Ferry's, for the
 * duration of the preview.
 */
export class RestorerPreview {
  readonly client: KubeClients;
  private readonly bound = new Map<string, Promise<void>>();
  private readonly owner: OperationOwner;

  constructor(private readonly options: { kube: KubeClients; previewId: string }) {
    this.client = impersonating(options.kube, RESTORER_USER);
    // No owner reference: the preview has no resource of its own; the label finds leftovers.
    this.owner = {
      apiVersion: 'ferry.io/v1alpha1',
      kind: 'Restore',
      name: options.previewId,
      namespace: '',
      uid: '',
      labels: { 'app.kubernetes.io/managed-by': 'ferry', 'ferry.io/restore': options.previewId },
    };
  }

  /** The clients to preview an apply in `namespace` with. */
  async in(namespace: string): Promise<KubeClients> {
    let binding = this.bound.get(namespace);
    if (!binding) {
      binding = ensureRestorerRole(this.options.kube).then(() =>
        bindRestorer({ kube: this.options.kube, restorer: this.client, namespace, restoreId: this.options.previewId, owner: this.owner }),
      );
      this.bound.set(namespace, binding);
    }
    await binding;
    return this.client;
  }

  async release(): Promise<void> {
    await Promise.allSettled(this.bound.values());
    await unbindRestorer({ kube: this.options.kube, namespaces: this.bound.keys(), restoreId: this.options.previewId });
  }
}
