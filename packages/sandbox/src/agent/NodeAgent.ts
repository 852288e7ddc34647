import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  StorageV1Api,
} from '@kubernetes/client-node';
import { isExecutableCommand } from '../managedProcess';
import { CertPair } from '../pki';
import { freeLoopbackPort } from '../ports';
import { driverName, snapshotGroup, snapshotVersion } from './constants';
import { Kubelet } from './Kubelet';
import { startKubeletServer } from './KubeletServer';
import { ResourceWatch } from './kube';
import { NodeRegistration } from './NodeRegistration';
import { Provisioner } from './Provisioner';
import { ReconcileQueue } from './ReconcileQueue';
import { Snapshotter } from './Snapshotter';
import { VolumeStore } from './VolumeStore';

export type NodeAgentOptions = {
  kubeConfig: KubeConfig;
  dataDir: string;
  nodeName: string;
  kubeletVersion: string;
  datamoverImage: string;
  datamoverEntrypoint: string[];
  binDirs: string[];
  capacity: Record<string, string>;
  kubeletTls: CertPair;
  caFile: string;
  apiServerUrl: string;
  log: (message: string) => void;
};

export type NodeAgent = {
  store: VolumeStore;
  kubelet: Kubelet;
  kubeletPort: number;
  stop(): Promise<void>;
};

/**
 * Starts the node agent in this process: node registration and lease, the sandbox.ferry.io CSI
 * driver (provisioner + snapshotter) and the kubelet (process pods, log endpoint).
 */
export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const { kubeConfig, log } = options;
  if (!isExecutableCommand('bwrap')) {
    throw new Error('bubblewrap (bwrap) is not installed: the sandbox kubelet needs it (Debian package bubblewrap)');
  }
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const storage = kubeConfig.makeApiClient(StorageV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const store = new VolumeStore(options.dataDir);
  const api = new URL(options.apiServerUrl);
  const kubelet = new Kubelet({
    core,
    store,
    nodeName: options.nodeName,
    dataDir: options.dataDir,
    datamoverImage: options.datamoverImage,
    datamoverEntrypoint: options.datamoverEntrypoint,
    binDirs: options.binDirs,
    baseEnv: { KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port },
    log,
  });
  const provisioner = new Provisioner({ core, storage, custom, store, log });
  const snapshotter = new Snapshotter({ core, custom, store, log });

  const queues = {
    claims: new ReconcileQueue('claim', key => provisioner.reconcileClaim(key), log),
    volumes: new ReconcileQueue('volume', key => provisioner.reconcileVolume(key), log),
    snapshots: new ReconcileQueue('volumesnapshot', key => snapshotter.reconcileSnapshot(key), log),
    contents: new ReconcileQueue('volumesnapshotcontent', key => snapshotter.reconcileContent(key), log),
    pods: new ReconcileQueue('pod', key => kubelet.reconcilePod(key), log),
  };

  const server = await startKubeletServer({
    kubelet,
    dataDir: options.dataDir,
    tls: options.kubeletTls,
    clientCa: options.caFile,
    port: await freeLoopbackPort(),
  });
  const registration = new NodeRegistration({
    core,
    coordination,
    storage,
    driverName,
    nodeName: options.nodeName,
    kubeletPort: server.port,
    kubeletVersion: options.kubeletVersion,
    capacity: options.capacity,
    log,
  });
  await registration.start();

  const custom$ = (plural: string, namespaced: boolean) => async () =>
    (namespaced
      ? await custom.listCustomObjectForAllNamespaces({ group: snapshotGroup, version: snapshotVersion, resourcePlural: plural })
      : await custom.listClusterCustomObject({ group: snapshotGroup, version: snapshotVersion, plural })) as KubernetesListObject<KubernetesObject>;
  const watches: Array<ResourceWatch<KubernetesObject>> = [
    new ResourceWatch(kubeConfig, {
      path: '/api/v1/persistentvolumeclaims',
      list: () => core.listPersistentVolumeClaimForAllNamespaces(),
      onKey: key => queues.claims.add(key),
    }),
    new ResourceWatch(kubeConfig, {
      path: '/api/v1/persistentvolumes',
      list: () => core.listPersistentVolume(),
      onKey: key => queues.volumes.add(key),
    }),
    new ResourceWatch(kubeConfig, {
      path: `/apis/${snapshotGroup}/${snapshotVersion}/volumesnapshots`,
      list: custom$('volumesnapshots', true),
      onKey: key => queues.snapshots.add(key),
    }),
    new ResourceWatch(kubeConfig, {
      path: `/apis/${snapshotGroup}/${snapshotVersion}/volumesnapshotcontents`,
      list: custom$('volumesnapshotcontents', false),
      onKey: key => queues.contents.add(key),
    }),
    new ResourceWatch(kubeConfig, {
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${options.nodeName}` }),
      fieldSelector: `spec.nodeName=${options.nodeName}`,
      onKey: key => queues.pods.add(key),
    }),
  ];
  await Promise.all(watches.map(w => w.start()));
  log(`Node agent ready: node ${options.nodeName}, kubelet endpoint https://127.0.0.1:${server.port}`);

  return {
    store,
    kubelet,
    kubeletPort: server.port,
    async stop() {
      registration.stop();
      await Promise.all(watches.map(w => w.stop().catch(() => undefined)));
      for (const queue of Object.values(queues)) queue.stop();
      await kubelet.stop();
      await Promise.all(Object.values(queues).map(q => q.idle()));
      await server.close();
    },
  };
}
