import { KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { applyObjects, readManifestDirs, readManifestFile } from '../applyManifests';
import { packageRoot } from '../binaries';
import { killFromPidDir, ManagedProcess } from '../managedProcess';
import { snapshotCrdDir } from './csiBinaries';
import { CsiDriver, driverStateFile, startCsiDriver } from './csiDriver';
import { releaseRecordedState } from './driverState';
import { RegistrationServer, startRegistrationServer } from './registrationServer';
import { Resizer, startResizer } from './resizer';
import { startSidecars } from './sidecars';

export type StartCsiStackOptions = {
  /** The sandbox's data folder; the stack keeps everything under `<dataDir>/csi/`. */
  dataDir: string;
  /** Kubeconfig the sidecars and the resizer use (the sandbox's admin kubeconfig). */
  kubeconfigPath: string;
  /** The node's name (NodeGetInfo's node_id, which the kubelet writes into the CSINode). */
  nodeName: string;
  /**
   * The kubelet's plugin-registration folder (`<kubelet root dir>/plugins_registry`): the driver's
   * registration socket goes there. Omitted: no registration (no kubelet, e.g. csi-sanity runs).
   */
  registrationDir?: string;
  /** The driver's socket. Default `<dataDir>/csi/csi.sock`. */
  socketPath?: string;
  /** Delete volumes and snapshots of a previous run first (default true). */
  reset?: boolean;
  /** With `registrationDir`: how long to wait for the kubelet to register the driver (default 30 s; 0: do not wait). */
  registrationTimeoutMs?: number;
  /** Progress messages; default: none. */
  log?: (message: string) => void;
};

export type CsiStack = {
  /** The CSI driver's unix socket (Identity, Controller, Node). */
  socketPath: string;
  /** The plugin-registration socket in `registrationDir`, when given. */
  registrationSocketPath?: string;
  /** Resolves once the kubelet reported the registration (only with `registrationDir`). */
  registered?: Promise<{ registered: boolean; error: string }>;
  /** `<dataDir>/csi/storage`: volumes/ and snapshots/ (sparse files) and the driver's state file. */
  storageDir: string;
  /** Backing sparse file of a volume handle (PV `spec.csi.volumeHandle`). */
  volumeFile(volumeHandle: string): string;
  /** Backing sparse file of a snapshot handle (VolumeSnapshotContent `status.snapshotHandle`). */
  snapshotFile(snapshotHandle: string): string;
  /** Stops the sidecars, the resizer, the registration and the driver, then unmounts and detaches. */
  stop(): Promise<void>;
};

const csiDir = (dataDir: string) => path.join(path.resolve(dataDir), 'csi');

/**
 * Undoes what a CSI stack of this data folder left behind (after a crash, or from
 * `npm run sandbox -- stop`): kills its recorded processes, unmounts its recorded mounts and
 * releases its recorded loop devices. Returns how many mounts/devices are still held.
 */
export async function cleanUpCsiStack(options: { dataDir: string; log?: (message: string) => void }): Promise<number> {
  const dir = csiDir(options.dataDir);
  killFromPidDir(path.join(dir, 'run'));
  return releaseRecordedState(driverStateFile(path.join(dir, 'storage')), options.log ?? (() => undefined));
}

/**
 * Starts the real storage stack for a real node: our CSI driver sandbox.ferry.io (the storage
 * back end: loop devices over sparse files), the plugin-registration server for the kubelet,
 * the upstream external-provisioner, csi-snapshotter and snapshot-controller, our resizer, the
 * upstream snapshot CRDs, StorageClass and VolumeSnapshotClass `ferry-sandbox` and the CSIDriver.
 */
export async function startCsiStack(options: StartCsiStackOptions): Promise<CsiStack> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const dir = csiDir(options.dataDir);
  const storageDir = path.join(dir, 'storage');
  const left = await cleanUpCsiStack({ dataDir: options.dataDir, log });
  if (left > 0) log(`${left} mounts or loop devices of an earlier run are still held open; retried at stop()`);
  if (options.reset ?? true) {
    for (const sub of ['volumes', 'snapshots']) fs.rmSync(path.join(storageDir, sub), { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });

  let driver: CsiDriver | undefined;
  let registration: RegistrationServer | undefined;
  let sidecars: ManagedProcess[] = [];
  let resizer: Resizer | undefined;
  const stop = async () => {
    await resizer?.stop().catch(error => log(`Resizer stop failed: ${String(error)}`));
    await Promise.all(sidecars.map(child => child.stop(5000)));
    await registration?.stop();
    await driver?.stop();
    const held = await releaseRecordedState(driverStateFile(storageDir), log);
    if (held > 0) log(`${held} mounts or loop devices are still held open by other processes; released at the next start`);
  };
  try {
    driver = await startCsiDriver({
      socketPath: options.socketPath ?? path.join(dir, 'csi.sock'),
      storageDir,
      nodeName: options.nodeName,
      log,
    });
    if (options.registrationDir) {
      registration = await startRegistrationServer({
        registrationDir: options.registrationDir,
        driverSocketPath: driver.socketPath,
        log,
      });
    }
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(options.kubeconfigPath);
    log('Applying the upstream snapshot CRDs, StorageClass, VolumeSnapshotClass and CSIDriver');
    await applyObjects(kubeConfig, [
      ...readManifestDirs([snapshotCrdDir()]),
      ...readManifestFile(path.join(packageRoot, 'manifests', 'csi', 'ferry-sandbox-storage.yaml')),
    ]);
    sidecars = await startSidecars({
      kubeconfigPath: path.resolve(options.kubeconfigPath),
      csiSocketPath: driver.socketPath,
      logDir: path.join(dir, 'logs'),
      pidDir: path.join(dir, 'run'),
      log,
    });
    resizer = await startResizer({ kubeConfig, csiSocketPath: driver.socketPath, log });
    const timeoutMs = options.registrationTimeoutMs ?? 30_000;
    if (registration && timeoutMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        registration.registered,
        new Promise<undefined>(resolve => {
          timer = setTimeout(() => resolve(undefined), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!outcome) {
        throw new Error(
          `the kubelet did not register CSI driver sandbox.ferry.io within ${timeoutMs} ms (registration socket ${registration.socketPath})`,
        );
      }
      if (!outcome.registered) throw new Error(`the kubelet refused CSI driver sandbox.ferry.io: ${outcome.error}`);
    }
    const files = driver.files;
    log(`CSI stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (driver socket ${driver.socketPath})`);
    return {
      socketPath: driver.socketPath,
      registrationSocketPath: registration?.socketPath,
      registered: registration?.registered,
      storageDir,
      volumeFile: handle => files.volumeFile(handle),
      snapshotFile: handle => files.snapshotFile(handle),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
