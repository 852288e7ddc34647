import { KubeConfig } from '@kubernetes/client-node';

/**
 * A KubeConfig for a cluster at a closed port, for tests whose API calls go to a fake: what the
 * code under test opens through the config itself (watches, a followed log) fails at once, as
 * on a cluster that refuses them, and the code polls the fake instead.
 */
export function closedPortKubeConfig(server = 'https://127.0.0.1:1'): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kubeConfig;
}
