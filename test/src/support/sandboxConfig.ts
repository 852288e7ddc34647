import { createServiceAccountToken, Sandbox } from '@ferry/sandbox';
import { readFileSync } from 'node:fs';

/**
 * Backstage configuration for a sandbox, as `npm run sandbox -- start --app-config` writes it for
 * `npm run dev`: the Kubernetes plugin's cluster `sandbox` (a cluster-admin service-account
 * token), and what Ferry needs on the sandbox's real node — the datamover image from the sandbox
 * registry (datamover Jobs are real containers) and that registry, which listens on the node
 * bridge's address, reached over plain HTTP. A filesystem target at `repositoryDir` needs nothing
 * more: datamover pods mount the node's folder (this machine's) at the same path.
 */
export async function sandboxBackstageConfig(sandbox: Sandbox, repositoryDir: string): Promise<Record<string, unknown>> {
  const { token } = await createServiceAccountToken(sandbox);
  const cluster = sandbox.kubeConfig.getCurrentCluster()!;
  return {
    kubernetes: {
      serviceLocatorMethod: { type: 'multiTenant' },
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: [
            {
              name: 'sandbox',
              url: sandbox.apiServerUrl,
              authProvider: 'serviceAccount',
              authMetadata: { serviceAccountToken: token },
              caData: cluster.caData ?? readFileSync(cluster.caFile!).toString('base64'),
            },
          ],
        },
      ],
    },
    ferry: {
      targets: [{ name: 'local', type: 'filesystem', path: repositoryDir }],
      datamover: { image: sandbox.images!.datamover },
      images: { insecureRegistries: [sandbox.registry!.host] },
    },
  };
}
