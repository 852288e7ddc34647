import type { KubeConfig } from '@kubernetes/client-node';
import path from 'node:path';
import { startCsiStack } from '../csi/csiStack';

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
 * The real node's storage stack: src/csi's startCsiStack, with the driver's socket where a
 * kubelet expects a CSI plugin's (`<kubelet root>/plugins/sandbox.ferry.io/csi.sock`) and its
 * registration socket in the kubelet's plugins_registry folder.
 */
export function csiStackStarter(): StorageStackStarter | undefined {
  return options =>
    startCsiStack({
      dataDir: options.dataDir,
      kubeconfigPath: options.kubeconfigPath,
      nodeName: options.nodeName,
      registrationDir: options.pluginRegistrationDir,
      socketPath: path.join(options.kubeletRootDir, 'plugins', 'sandbox.ferry.io', 'csi.sock'),
      log: options.log,
    });
}
