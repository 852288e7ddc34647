import type { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  AnonymousStrategy,
  DispatchStrategy,
  ServiceAccountStrategy,
} from '@backstage/plugin-kubernetes-backend';
import { ANNOTATION_KUBERNETES_AUTH_PROVIDER } from '@backstage/plugin-kubernetes-common';
import type {
  AuthenticationStrategy,
  ClusterDetails,
  KubernetesCredential,
} from '@backstage/plugin-kubernetes-node';
import { KubeConfig, User } from '@kubernetes/client-node';

/** What the UI and the plan show of a cluster. */
export interface ClusterSummary {
  name: string;
  title?: string;
  url: string;
}

export interface ClusterRegistryOptions {
  /**
   * Turns a cluster's `authProvider` into credentials. Default: the Kubernetes plugin's own
   * strategies for `serviceAccount` and `anonymous`, behind its `DispatchStrategy`.
   */
  authStrategy?: AuthenticationStrategy;
}

/**
 * The Kubernetes plugin's `serviceAccount` strategy, answering a configured token before the
 * plugin's code path. Same credential; the plugin's version dynamically imports client-node
 * first even when the token is configured, which Jest cannot run without
 * `--experimental-vm-modules`. Without a configured token it defers to the plugin (the pod's
 * own service account token).
 */
class ConfiguredTokenStrategy extends ServiceAccountStrategy {
  async getCredential(clusterDetails: ClusterDetails): Promise<KubernetesCredential> {
    const token = clusterDetails.authMetadata.serviceAccountToken;
    if (token) {
      return { type: 'bearer token', token };
    }
    return super.getCredential(clusterDetails);
  }
}

/** The Kubernetes plugin's strategies that work without a signed-in user's token. */
export function defaultAuthStrategy(): AuthenticationStrategy {
  return new DispatchStrategy({
    authStrategyMap: {
      serviceAccount: new ConfiguredTokenStrategy(),
      anonymous: new AnonymousStrategy(),
    },
  });
}

/**
 * The clusters of the Kubernetes plugin's configuration (`kubernetes.clusterLocatorMethods`
 * entries of `type: config`), read the way its ConfigClusterLocator reads them, with the same
 * credentials. Ferry has no cluster configuration of its own.
 */
export class ClusterRegistry {
  private readonly clusters: Map<string, ClusterDetails>;

  private constructor(
    clusters: ClusterDetails[],
    private readonly authStrategy: AuthenticationStrategy,
    private readonly unsupported: Map<string, string>,
  ) {
    this.clusters = new Map(clusters.map(cluster => [cluster.name, cluster]));
  }

  static fromConfig(config: Config, options: ClusterRegistryOptions = {}): ClusterRegistry {
    const authStrategy = options.authStrategy ?? defaultAuthStrategy();
    const methods = config.getOptionalConfigArray('kubernetes.clusterLocatorMethods') ?? [];
    const clusters: ClusterDetails[] = [];
    const unsupported = new Map<string, string>();
    const names = new Set<string>();
    methods.forEach((method, methodIndex) => {
      if (method.getString('type') !== 'config') {
        return;
      }
      (method.getOptionalConfigArray('clusters') ?? []).forEach((entry, index) => {
        const where = `kubernetes.clusterLocatorMethods[${methodIndex}].clusters[${index}]`;
        const cluster = readCluster(entry, where);
        if (names.has(cluster.name)) {
          throw new InputError(`${where}.name: duplicate cluster name '${cluster.name}'`);
        }
        names.add(cluster.name);
        const problems = authStrategy.validateCluster(cluster.authMetadata);
        if (problems.length > 0) {
          // The Kubernetes plugin may serve this cluster with a signed-in user's token (oidc,
          // google, ...); Ferry's controller has no user, so it leaves the cluster out.
          unsupported.set(
            cluster.name,
            `cluster '${cluster.name}' (${where}) cannot be used by ferry: ${problems.map(p => p.message).join(', ')}; ferry needs authProvider serviceAccount or anonymous`,
          );
          return;
        }
        clusters.push(cluster);
      });
    });
    return new ClusterRegistry(clusters, authStrategy, unsupported);
  }

  /** Names, titles and URLs of the configured clusters, in configuration order. */
  listClusters(): ClusterSummary[] {
    return [...this.clusters.values()].map(cluster => ({
      name: cluster.name,
      ...(cluster.title ? { title: cluster.title } : {}),
      url: cluster.url,
    }));
  }

  clusterNames(): string[] {
    return [...this.clusters.keys()];
  }

  /** Clusters of the Kubernetes plugin that Ferry cannot use, with the reason (for a start-up log). */
  unsupportedClusters(): Array<{ name: string; reason: string }> {
    return [...this.unsupported].map(([name, reason]) => ({ name, reason }));
  }

  getCluster(name: string): ClusterDetails {
    if (this.clusters.size === 0 && this.unsupported.size === 0) {
      throw new InputError(
        `no kubernetes clusters are configured: add a kubernetes.clusterLocatorMethods entry of type 'config' to app-config`,
      );
    }
    const cluster = this.clusters.get(name);
    const unsupported = this.unsupported.get(name);
    if (unsupported) {
      throw new InputError(unsupported);
    }
    if (!cluster) {
      throw new NotFoundError(
        `no kubernetes cluster named '${name}' is configured (known: ${this.clusterNames().join(', ')})`,
      );
    }
    return cluster;
  }

  /** A client configuration for the cluster with the credentials the Kubernetes plugin would use. */
  async getKubeConfig(name: string): Promise<KubeConfig> {
    const cluster = this.getCluster(name);
    const credential = await this.authStrategy.getCredential(cluster, {});
    return toKubeConfig(cluster, credential);
  }
}

function readCluster(entry: Config, where: string): ClusterDetails {
  const name = entry.getString('name');
  const authMetadataBlock = entry.getOptional<Record<string, string>>('authMetadata');
  const authProvider =
    authMetadataBlock?.[ANNOTATION_KUBERNETES_AUTH_PROVIDER] ??
    entry.getOptionalString('authProvider');
  if (!authProvider) {
    throw new InputError(
      `${where}: cluster '${name}' has no auth provider: set authProvider or authMetadata.${ANNOTATION_KUBERNETES_AUTH_PROVIDER}`,
    );
  }
  const url = entry.getString('url');
  if (!URL.canParse(url)) {
    throw new InputError(`${where}.url: cluster '${name}' has an invalid url '${url}'`);
  }
  const serviceAccountToken = entry.getOptionalString('serviceAccountToken');
  const title = entry.getOptionalString('title');
  return {
    name,
    ...(title ? { title } : {}),
    url,
    skipTLSVerify: entry.getOptionalBoolean('skipTLSVerify') ?? false,
    caData: entry.getOptionalString('caData'),
    caFile: entry.getOptionalString('caFile'),
    authMetadata: {
      [ANNOTATION_KUBERNETES_AUTH_PROVIDER]: authProvider,
      ...(serviceAccountToken ? { serviceAccountToken } : {}),
      ...authMetadataBlock,
    },
  };
}

/** A KubeConfig with one context for the cluster and the given credential. */
export function toKubeConfig(cluster: ClusterDetails, credential: KubernetesCredential): KubeConfig {
  let user: User = { name: 'ferry' };
  if (credential.type === 'bearer token') {
    user = { name: 'ferry', token: credential.token };
  } else if (credential.type === 'x509 client certificate') {
    user = { name: 'ferry', certData: asBase64Pem(credential.cert), keyData: asBase64Pem(credential.key) };
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.url,
        skipTLSVerify: cluster.skipTLSVerify ?? false,
        ...(cluster.caData ? { caData: cluster.caData } : {}),
        ...(cluster.caFile ? { caFile: cluster.caFile } : {}),
      },
    ],
    users: [user],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: user.name }],
    currentContext: cluster.name,
  });
  return kubeConfig;
}

/** client-node wants base64 of the PEM text; strategies hand out PEM or already-encoded data. */
function asBase64Pem(value: string): string {
  return value.includes('-----BEGIN') ? Buffer.from(value).toString('base64') : value;
}
