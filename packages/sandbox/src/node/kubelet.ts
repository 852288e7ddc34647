import fs from 'node:fs';
import path from 'node:path';
import { binaryPath } from '../binaries';
import { writeKubeconfigFile } from '../kubeconfigFile';
import { ManagedProcess } from '../managedProcess';
import { CertPair, issueCertificate } from '../pki';
import { startInCgroup } from './nodeProcess';
import { NodePaths } from './paths';

export type KubeletOptions = {
  paths: NodePaths;
  /** The node's cgroup: the kubelet's cgroupRoot (pods go to `<cgroup>/kubepods`), itself in `<cgroup>/node`. */
  cgroup: string;
  nodeName: string;
  /** The node's InternalIP and the kubelet's listen address (the bridge address). */
  hostAddress: string;
  port: number;
  apiServerUrl: string;
  ca: CertPair;
  pidDir: string;
  log: (message: string) => void;
};

/**
 * KubeletConfiguration for a kubelet on this cgroup-v1 machine beside other kubelets: cgroupfs
 * driver with its own cgroupRoot, `failCgroupV1: false`, nothing enforced on node allocatable,
 * its own pod-log folder, eviction and image GC only when the disk is really full (the disk is
 * shared), a serving certificate from the sandbox CA, x509 client authentication against the
 * sandbox CA (the apiserver's kubelet client certificate) and Webhook authorization (RBAC).
 */
export function kubeletConfiguration(options: KubeletOptions & { tls: CertPair }) {
  const { paths } = options;
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: options.hostAddress,
    port: options.port,
    readOnlyPort: 0,
    healthzPort: 0,
    tlsCertFile: options.tls.cert,
    tlsPrivateKeyFile: options.tls.key,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: options.ca.cert },
    },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: options.cgroup,
    cgroupsPerQOS: true,
    failCgroupV1: false,
    failSwapOn: false,
    enforceNodeAllocatable: [],
    oomScoreAdj: 0,
    resolvConf: '',
    podLogsDir: paths.podLogs,
    volumePluginDir: path.join(paths.kubeletRoot, 'volume-plugins'),
    serializeImagePulls: false,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    clusterDomain: 'cluster.local',
    maxPods: 110,
    registerNode: true,
  };
}

/** Issues the kubelet's certificates, writes its configuration and starts it in the node's cgroup. */
export function startKubelet(options: KubeletOptions): ManagedProcess {
  const { paths, nodeName } = options;
  const pkiDir = path.join(paths.config, 'pki');
  const tls = issueCertificate({
    dir: pkiDir,
    ca: options.ca,
    file: 'kubelet-serving',
    subject: `/CN=${nodeName}`,
    altNames: [`IP:${options.hostAddress}`, 'IP:127.0.0.1', `DNS:${nodeName}`],
    usage: 'server',
  });
  // The node identity (group system:nodes, bound to ClusterRole system:node by realNode.ts).
  const client = issueCertificate({
    dir: pkiDir,
    ca: options.ca,
    file: 'kubelet-client',
    subject: `/O=system:nodes/CN=system:node:${nodeName}`,
    usage: 'client',
  });
  const kubeconfig = writeKubeconfigFile({
    file: path.join(paths.config, 'kubelet.kubeconfig'),
    server: options.apiServerUrl,
    caFile: options.ca.cert,
    user: client,
    name: 'ferry-sandbox',
  });
  for (const dir of [paths.kubeletRoot, paths.podLogs]) fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(paths.config, 'kubelet.json');
  fs.writeFileSync(configFile, `${JSON.stringify(kubeletConfiguration({ ...options, tls }), null, 2)}\n`);
  options.log(`Starting the kubelet (node ${nodeName}, https://${options.hostAddress}:${options.port})`);
  return startInCgroup({
    name: 'kubelet',
    cgroup: `${options.cgroup}/node`,
    command: binaryPath('kubelet'),
    args: [
      `--config=${configFile}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--cert-dir=${pkiDir}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${options.hostAddress}`,
      '--node-labels=ferry.io/sandbox-node=real',
      '--v=1',
    ],
    logFile: path.join(paths.logs, 'kubelet.log'),
    pidDir: options.pidDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
}
