import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { applyObjects } from '../applyManifests';
import { ManagedProcess } from '../managedProcess';
import { CertPair } from '../pki';
import { freePort } from '../ports';
import { createCgroup } from './cgroups';
import { mountsUnder } from './cleanup';
import { startContainerd } from './containerd';
import { checkRealNodeHost } from './hostCheck';
import { startKubelet } from './kubelet';
import { createBridge, writeCniConfig } from './network';
import { waitWhileRunning } from './nodeProcess';
import { maxSocketPath, NodePaths, nodePaths } from './paths';
import { reapNodeRecord } from './reap';
import { allocateNode, NodeRecord, releaseNode } from './slots';

/** A node slot taken and its bridge up (so servers can listen on the host address), nothing started yet. */
export type PreparedNode = {
  record: NodeRecord;
  paths: NodePaths;
  /** The bridge's address: where pods reach the host (S3 server, registry). */
  hostAddress: string;
  /** Removes what was made and frees the slot. */
  release(): Promise<void>;
};

export type RealNode = {
  hostAddress: string;
  paths: NodePaths;
  /** `unix://<dataDir>/node/containerd.sock`, for crictl's `--runtime-endpoint`. */
  criEndpoint: string;
  kubeletPort: number;
  processes: ManagedProcess[];
  stop(): Promise<void>;
};


/** Checks the host, takes a node slot (reaping dead sandboxes' nodes), makes the node's cgroup and bridge. */
export async function prepareRealNode(options: { dataDir: string; log: (message: string) => void }): Promise<PreparedNode> {
  checkRealNodeHost();
  const record = await allocateNode({ dataDir: options.dataDir, reap: reapNodeRecord(options.log), log: options.log });
  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= (async () => {
      await reapNodeRecord(options.log)(record);
      await releaseNode(record);
    })());
  const paths = nodePaths(record.nodeDir);
  try {
    const longest = path.join(paths.kubeletRoot, 'plugins_registry', 'sandbox.ferry.io-reg.sock');
    if (longest.length > maxSocketPath - 8) {
      throw new Error(`data folder ${options.dataDir} is too long for the node's unix sockets (${longest}): use a shorter dataDir`);
    }
    // A node folder of a run whose record is gone (e.g. after a reboot): its mounts first.
    if (mountsUnder(record.nodeDir).length === 0) fs.rmSync(record.nodeDir, { recursive: true, force: true });
    else throw new Error(`${record.nodeDir} still has mounts of an earlier node: run \`npm run sandbox -- stop --data-dir ${options.dataDir}\``);
    createCgroup(`${record.cgroup}/node`);
    createBridge(record.network);
  } catch (error) {
    await release();
    throw error;
  }
  options.log(`Node slot ${record.slot}: bridge ${record.network.bridge} ${record.network.hostAddress}/24, cgroup ${record.cgroup}`);
  return { record, paths, hostAddress: record.network.hostAddress, release };
}

export type StartRealNodeOptions = {
  kubeConfig: KubeConfig;
  apiServerUrl: string;
  ca: CertPair;
  nodeName: string;
  /** Image of the pods' sandbox containers (the pause image in the sandbox registry). */
  sandboxImage: string;
  /** `host:port` of the sandbox registry (plain HTTP). */
  registryHost: string;
  /** Its credentials, when it requires some. */
  registryAuth?: { username: string; password: string };
  pidDir: string;
  log: (message: string) => void;
};

/** The node's identity may do what a kubelet does (RBAC has no binding for system:nodes by default). */
const nodeRoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'ferry-sandbox:nodes' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
};

/**
 * Starts containerd and the kubelet on a prepared node and waits until the Node object exists.
 * On failure everything made is removed and the slot freed.
 */
export async function startRealNode(prepared: PreparedNode, options: StartRealNodeOptions): Promise<RealNode> {
  const { paths, record, hostAddress } = prepared;
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    for (const child of [...processes].reverse()) await child.stop(5000);
    await prepared.release();
  };
  try {
    await applyObjects(options.kubeConfig, [nodeRoleBinding]);
    writeCniConfig({ confDir: paths.cniConf, ipamDir: paths.cniIpam, network: record.network });
    processes.push(
      await startContainerd({
        paths,
        cgroup: record.cgroup,
        sandboxImage: options.sandboxImage,
        plainHttpRegistries: [options.registryHost],
        registryAuth: options.registryAuth && { host: options.registryHost, ...options.registryAuth },
        pidDir: options.pidDir,
        log: options.log,
      }),
    );
    const kubeletPort = await freePort(hostAddress);
    const kubelet = startKubelet({
      paths,
      cgroup: record.cgroup,
      nodeName: options.nodeName,
      hostAddress,
      port: kubeletPort,
      apiServerUrl: options.apiServerUrl,
      ca: options.ca,
      pidDir: options.pidDir,
      log: options.log,
    });
    processes.push(kubelet);
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    await waitWhileRunning(processes, async () => Boolean(await core.readNode({ name: options.nodeName })), {
      description: `the kubelet to register node ${options.nodeName}`,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    return { hostAddress, paths, criEndpoint: `unix://${paths.containerdSocket}`, kubeletPort, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
