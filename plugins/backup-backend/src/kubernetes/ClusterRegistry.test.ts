import { ConfigReader, JsonObject } from '@backstage/config';
import { ClusterRegistry } from './ClusterRegistry';

function registry(clusterLocatorMethods: JsonObject[]) {
  return ClusterRegistry.fromConfig(new ConfigReader({ kubernetes: { clusterLocatorMethods } }));
}

describe('ClusterRegistry', () => {
  it('reads the config locators of the Kubernetes plugin, ignoring other locator types', () => {
    const clusters = registry([
      { type: 'catalog' },
      {
        type: 'config',
        clusters: [
          { name: 'a', title: 'Cluster A', url: 'https://a.example:6443', authProvider: 'serviceAccount', serviceAccountToken: 'legacy-token', caData: 'Q0E=' },
          { name: 'b', url: 'https://b.example', authMetadata: { 'kubernetes.io/auth-provider': 'serviceAccount', serviceAccountToken: 'meta-token' }, skipTLSVerify: true },
        ],
      },
      { type: 'config', clusters: [{ name: 'c', url: 'http://127.0.0.1:8001', authProvider: 'anonymous' }] },
    ]);
    expect(clusters.listClusters()).toEqual([
      { name: 'a', title: 'Cluster A', url: 'https://a.example:6443' },
      { name: 'b', url: 'https://b.example' },
      { name: 'c', url: 'http://127.0.0.1:8001' },
    ]);
    expect(clusters.clusterNames()).toEqual(['a', 'b', 'c']);
  });

  it('builds a KubeConfig with the credentials the Kubernetes plugin would use', async () => {
    const clusters = registry([
      {
        type: 'config',
        clusters: [
          { name: 'a', url: 'https://a.example:6443', authProvider: 'serviceAccount', serviceAccountToken: 'legacy-token', caData: 'Q0E=' },
          { name: 'b', url: 'https://b.example', authMetadata: { 'kubernetes.io/auth-provider': 'serviceAccount', serviceAccountToken: 'meta-token' }, skipTLSVerify: true },
          { name: 'c', url: 'http://127.0.0.1:8001', authProvider: 'anonymous' },
        ],
      },
    ]);
    const a = await clusters.getKubeConfig('a');
    expect(a.getCurrentCluster()).toMatchObject({ name: 'a', server: 'https://a.example:6443', caData: 'Q0E=', skipTLSVerify: false });
    expect(a.getCurrentUser()?.token).toBe('legacy-token');
    const b = await clusters.getKubeConfig('b');
    expect(b.getCurrentCluster()).toMatchObject({ server: 'https://b.example', skipTLSVerify: true });
    expect(b.getCurrentUser()?.token).toBe('meta-token');
    const c = await clusters.getKubeConfig('c');
    expect(c.getCurrentUser()?.token).toBeUndefined();
  });

  it('names an unknown cluster, and says when none is configured', async () => {
    const clusters = registry([{ type: 'config', clusters: [{ name: 'a', url: 'https://a', authProvider: 'anonymous' }] }]);
    await expect(clusters.getKubeConfig('prod')).rejects.toMatchObject({
      name: 'NotFoundError',
      message: "no kubernetes cluster named 'prod' is configured (known: a)",
    });
    const none = ClusterRegistry.fromConfig(new ConfigReader({}));
    expect(none.listClusters()).toEqual([]);
    await expect(none.getKubeConfig('a')).rejects.toMatchObject({
      name: 'InputError',
      message: "no kubernetes clusters are configured: add a kubernetes.clusterLocatorMethods entry of type 'config' to app-config",
    });
  });

  it('leaves out clusters that need a signed-in user, and says why when one is asked for', async () => {
    const clusters = registry([
      {
        type: 'config',
        clusters: [
          { name: 'user-only', url: 'https://a', authProvider: 'oidc', oidcTokenProvider: 'okta' },
          { name: 'b', url: 'https://b', authProvider: 'anonymous' },
        ],
      },
    ]);
    expect(clusters.clusterNames()).toEqual(['b']);
    const reason =
      'cluster \'user-only\' (kubernetes.clusterLocatorMethods[0].clusters[0]) cannot be used by ferry: authProvider "oidc" has no config associated with it; ferry needs authProvider serviceAccount or anonymous';
    expect(clusters.unsupportedClusters()).toEqual([{ name: 'user-only', reason }]);
    await expect(clusters.getKubeConfig('user-only')).rejects.toMatchObject({ name: 'InputError', message: reason });
  });

  it('refuses bad cluster entries with the field named', () => {
    expect(() => registry([{ type: 'config', clusters: [{ name: 'a', url: 'https://a' }] }])).toThrow(
      "kubernetes.clusterLocatorMethods[0].clusters[0]: cluster 'a' has no auth provider: set authProvider or authMetadata.kubernetes.io/auth-provider",
    );
    expect(() =>
      registry([{ type: 'config', clusters: [{ name: 'a', url: 'https://a', authProvider: 'anonymous' }, { name: 'a', url: 'https://b', authProvider: 'anonymous' }] }]),
    ).toThrow("kubernetes.clusterLocatorMethods[0].clusters[1].name: duplicate cluster name 'a'");
    expect(() => registry([{ type: 'config', clusters: [{ name: 'a', url: 'not a url', authProvider: 'anonymous' }] }])).toThrow(
      "kubernetes.clusterLocatorMethods[0].clusters[0].url: cluster 'a' has an invalid url 'not a url'",
    );
  });
});
