import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

/** Everything a restore could write in a namespace, as sorted "Kind/name" strings. */
export async function namespaceContents(kubeConfig: KubeConfig, namespace: string): Promise<string[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const names = (kind: string, list: { items: Array<{ metadata?: { name?: string } }> }) =>
    list.items.map(o => `${kind}/${o.metadata?.name}`);
  const restores = (await custom.listNamespacedCustomObject({
    group: 'ferry.io',
    version: 'v1alpha1',
    plural: 'restores',
    namespace,
  })) as { items: Array<{ metadata?: { name?: string } }> };
  return [
    ...names('ConfigMap', await core.listNamespacedConfigMap({ namespace })),
    ...names('Secret', await core.listNamespacedSecret({ namespace })),
    ...names('Service', await core.listNamespacedService({ namespace })),
    ...names('ServiceAccount', await core.listNamespacedServiceAccount({ namespace })),
    ...names('PersistentVolumeClaim', await core.listNamespacedPersistentVolumeClaim({ namespace })),
    ...names('Deployment', await apps.listNamespacedDeployment({ namespace })),
    ...names('StatefulSet', await apps.listNamespacedStatefulSet({ namespace })),
    ...names('Restore', restores),
  ].sort();
}

/** Seconds between consecutive timeline steps: an operation's time by phase. */
export function phaseTimes(timeline: Array<{ time: string; step: string }>): string {
  return timeline
    .slice(1)
    .map((entry, i) => `${entry.step} ${((Date.parse(entry.time) - Date.parse(timeline[i].time)) / 1000).toFixed(1)} s`)
    .join(', ');
}
