import path from 'node:path';
import { CsiStack, startCsiStack } from '../csi/csiStack';

/** What the sandbox hands the node's storage stack once the kubelet runs. */
export type StorageStackOptions = {
  kubeconfigPath: string;
  /** The sandbox's data folder (the stack keeps its volumes and snapshots under `<dataDir>/csi`). */
  dataDir: string;
  nodeName: string;
  /** The kubelet's root folder (`<root>/plugins/<driver>/csi.sock`, `<root>/plugins_registry`). */
  kubeletRootDir: string;
  /** Delete volumes and snapshots of a previous run (default true). */
  reset?: boolean;
  log: (message: string) => void;
};

/**
 * The seam between the node and its storage: src/csi's startCsiStack (the CSI driver
 * sandbox.ferry.io with the upstream external-provisioner, csi-snapshotter and
 * snapshot-controller), with the driver's socket where a kubelet expects a CSI plugin's
 * (`<kubelet root>/plugins/sandbox.ferry.io/csi.sock`) and its registration socket in the kubelet's
 * plugins_registry folder.
 */
export function startStorageStack(options: StorageStackOptions): Promise<CsiStack> {
  return startCsiStack({
    dataDir: options.dataDir,
    kubeconfigPath: options.kubeconfigPath,
    nodeName: options.nodeName,
    registrationDir: path.join(options.kubeletRootDir, 'plugins_registry'),
    socketPath: path.join(options.kubeletRootDir, 'plugins', 'sandbox.ferry.io', 'csi.sock'),
    reset: options.reset,
    log: options.log,
  });
}
