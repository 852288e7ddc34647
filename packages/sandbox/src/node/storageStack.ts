import type { KubeConfig } from '@kubernetes/client-node';

/**
 * The seam between a real node and the storage stack (the CSI driver sandbox.ferry.io with the
 * upstream external-provisioner, csi-snapshotter and snapshot-controller, in src/csi/): what
 * startSandbox hands it once the kubelet runs, and what it gives back.
 */
export type StorageStackOptions = {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  apiServerUrl: string;
  /** The sandbox's data folder (the stack keeps its volumes and snapshots under it). */
  dataDir: string;
  nodeName: string;
  /** The kubelet's root folder (`<root>/plugins/<driver>/csi.sock`, staging and publish paths are under it). */
  kubeletRootDir: string;
  /** The kubelet's plugin-registration folder (`<kubeletRootDir>/plugins_registry`). */
  pluginRegistrationDir: string;
  /** Pid files of started processes go here (killed by the next start after a crash). */
  pidDir: string;
  log: (message: string) => void;
};

export type StorageStack = {
  /** Backing file of a volume by its CSI volume handle (for Sandbox.volumePath and friends). */
  volumeFile?(volumeHandle: string): string;
  stop(): Promise<void>;
};

export type StorageStackStarter = (options: StorageStackOptions) => Promise<StorageStack>;

/**
 * Extension point: the real node's storage stack. Until src/csi/ exports its starter (e.g.
 * `startCsiStack`), a real node runs pods without claims of the sandbox's StorageClass (they stay
 * Pending). When it lands: `import { startCsiStack } from '../csi'` and return it here.
 */
export function csiStackStarter(): StorageStackStarter | undefined {
  return undefined;
}
