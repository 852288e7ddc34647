import path from 'node:path';

/** Where a real node keeps its files, all under one folder (`<dataDir>/node`). */
export type NodePaths = ReturnType<typeof nodePaths>;

export function nodePaths(nodeDir: string) {
  return {
    nodeDir,
    config: path.join(nodeDir, 'config'),
    containerdRoot: path.join(nodeDir, 'containerd', 'root'),
    containerdState: path.join(nodeDir, 'containerd', 'state'),
    containerdSocket: path.join(nodeDir, 'containerd.sock'),
    registryHosts: path.join(nodeDir, 'containerd', 'certs.d'),
    cniConf: path.join(nodeDir, 'cni', 'net.d'),
    cniIpam: path.join(nodeDir, 'cni', 'ipam'),
    kubeletRoot: path.join(nodeDir, 'kubelet'),
    podLogs: path.join(nodeDir, 'pod-logs'),
    /** The sandbox's log folder (kept after stop, for post-mortems). */
    logs: path.join(nodeDir, '..', 'logs'),
  };
}

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the terminating NUL). */
export const maxSocketPath = 107;
