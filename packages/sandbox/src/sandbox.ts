import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyObjects, readManifestDirs } from './applyManifests';
import { packageRoot, repoRoot } from './binaries';
import { startControlPlane } from './controlPlane';
import { deleteFolderIfKilled, killFromPidDir, runIfKilled } from './managedProcess';
import { ensurePki } from './pki';
import { Registry, startRegistry } from './registry';
import { S3Server, startS3Server } from './s3Server';
import { csiDriverName } from './csi/constants';
import { buildSandboxImages, sandboxImageReferences, SandboxImages, seedSandboxImages } from './images/sandboxImages';
import { prepareRealNode, startRealNode } from './node/realNode';
import { readCriPodLog } from './node/podLogs';
import { startStorageStack } from './node/storageStack';
import { waitFor } from './waitFor';

export type StartSandboxOptions = {
  /** All state lives here. Default: `<repo>/.sandbox` (git-ignored), or a temporary folder when `ephemeral`. */
  dataDir?: string;
  /** Use a new temporary data folder and delete it on stop() (for tests running side by side). */
  ephemeral?: boolean;
  /** Default: `<dataDir>/kubeconfig`. */
  kubeconfigPath?: string;
  /** Wipe etcd, volumes, snapshots and pods of a previous run first (default true; the PKI is kept). */
  reset?: boolean;
  /** Folders whose `*.yaml` files are applied after the built-in CRDs (e.g. Ferry's CRDs). */
  crdDirs?: string[];
  /** Start an S3 server with data under `<dataDir>/s3` (default true). */
  s3?: boolean;
  /**
   * The OCI registry (Debian docker-registry, data under `<dataDir>/registry`) always starts: the
   * node's images live there. `{ auth }` makes it require credentials (htpasswd); `true` is accepted.
   */
  registry?: boolean | { auth: { username: string; password: string } };
  /** Default `ferry-sandbox-node`. */
  nodeName?: string;
  /** Progress messages; default: none. */
  log?: (message: string) => void;
  /**
   * The node is the real one: the upstream kubelet with containerd, runc and CNI (src/node/, root
   * only), storage by the CSI driver sandbox.ferry.io (src/csi/). Accepted for callers that name it.
   */
  node?: 'real';
};

export type Sandbox = {
  dataDir: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  apiServerUrl: string;
  nodeName: string;
  /** The S3 server (undefined with `s3: false`). */
  s3?: S3Server;
  /** The OCI registry, at the host address (it holds the node's images). */
  registry: Registry;
  /** Which node runs pods: the real one. */
  node: 'real';
  /**
   * The host's address as pods see it: the node bridge's address (the S3 endpoint and the
   * registry use it, so their URLs work from pods and from this machine).
   */
  hostAddress: string;
  /** containerd's CRI endpoint (`crictl --runtime-endpoint <it> ps`). */
  criEndpoint: string;
  /** The node's images in the sandbox registry (references with the registry host). */
  images: SandboxImages;
  /** The CSI driver's sparse file of a PersistentVolume of the sandbox StorageClass. */
  volumePath(pvName: string): Promise<string>;
  /** The CSI driver's sparse file of a bound claim. */
  claimVolumePath(options: { namespace: string; claim: string }): Promise<string>;
  /**
   * Writes bytes into a bound claim's volume file at an offset (the volume keeps its size). Raw
   * bytes: for Block claims, or claims no container has mounted (a mounted ext4 is the kernel's).
   */
  writeVolume(options: { namespace: string; claim: string; offset?: number; data: Buffer }): Promise<void>;
  /** Reads bytes from a bound claim's volume file. */
  readVolume(options: { namespace: string; claim: string; offset?: number; length: number }): Promise<Buffer>;
  /** The log of a container (the kubelet's CRI log file), undefined when none. */
  readPodLog(options: { namespace: string; pod: string; container?: string }): string | undefined;
  /** Stops everything started (processes killed by process group, ports freed). */
  stop(): Promise<void>;
};

/** Takes the data folder's lock; a lock of a dead process is taken over (and its processes killed). */
function lockDataDir(dataDir: string): () => void {
  const runDir = path.join(dataDir, 'run');
  fs.mkdirSync(runDir, { recursive: true });
  const lockFile = path.join(runDir, 'sandbox.lock');
  if (fs.existsSync(lockFile)) {
    const owner = Number(fs.readFileSync(lockFile, 'utf8').trim());
    let alive = false;
    try {
      process.kill(owner, 0);
      alive = owner !== process.pid;
    } catch {
      alive = false;
    }
    if (alive) {
      throw new Error(`sandbox data folder ${dataDir} is in use by process ${owner}: stop it or pass another dataDir`);
    }
  }
  killFromPidDir(runDir);
  fs.writeFileSync(lockFile, `${process.pid}\n`);
  return () => fs.rmSync(lockFile, { force: true });
}

/**
 * Starts a local Kubernetes: etcd, kube-apiserver, kube-controller-manager, kube-scheduler (real
 * binaries, see scripts/build-binaries.sh), an S3 server and an OCI registry holding the node's
 * images (built and cached by src/images/), the real node (containerd, the kubelet: src/node/) and
 * its storage (the CSI driver sandbox.ferry.io with the upstream sidecars, the snapshot CRDs,
 * StorageClass and VolumeSnapshotClass `ferry-sandbox`: src/csi/), and the CRDs of `crdDirs`.
 */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const dataDir = path.resolve(
    options.dataDir ??
      (options.ephemeral ? fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-sandbox-')) : path.join(repoRoot, '.sandbox')),
  );
  fs.mkdirSync(dataDir, { recursive: true });
  const temporary = Boolean(options.ephemeral && !options.dataDir);
  if (temporary) deleteFolderIfKilled(dataDir);
  const unlock = lockDataDir(dataDir);
  const cleanups: Array<() => Promise<void> | void> = [unlock];
  const runCleanups = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`Clean-up step failed: ${String(error)}`);
      }
    }
  };
  try {
    if (options.reset ?? true) {
      // The node's folder is made anew at every start (src/node/realNode.ts), the storage's by the CSI stack.
      for (const sub of ['etcd', 's3', 'registry', 'logs', 'apiserver']) {
        fs.rmSync(path.join(dataDir, sub), { recursive: true, force: true });
      }
    }
    const pki = ensurePki(path.join(dataDir, 'pki'));
    const kubeconfigPath = path.resolve(options.kubeconfigPath ?? path.join(dataDir, 'kubeconfig'));
    // Built once and cached (the set-up builds them; a cold build takes minutes, then well under a second).
    const builtImages = buildSandboxImages();
    builtImages.catch(() => undefined);
    // The bridge comes first: the S3 server and the registry listen on its address.
    // Should this process die hard, the watchdog reaps the node (before deleting an ephemeral folder).
    runIfKilled([process.execPath, path.join(packageRoot, 'bin', 'node-cleanup.cjs')]);
    const prepared = await prepareRealNode({ dataDir, log });
    cleanups.push(() => prepared.release());
    const hostAddress = prepared.hostAddress;
    const [controlPlane, s3, registry] = await Promise.all([
      startControlPlane({ dataDir, pki, kubeconfigPath, log }),
      options.s3 === false
        ? Promise.resolve(undefined)
        : startS3Server({
            dataDir: path.join(dataDir, 's3'),
            logFile: path.join(dataDir, 'logs', 'versitygw.log'),
            pidDir: path.join(dataDir, 'run'),
            accessKeyId: 'ferry-sandbox',
            secretAccessKey: 'ferry-sandbox-secret',
            hostAddress,
          }),
      (async () => {
        // The images are laid into the registry's storage before it starts (no upload).
        seedSandboxImages(path.join(dataDir, 'registry', 'storage'), await builtImages);
        return startRegistry({
          dataDir: path.join(dataDir, 'registry'),
          pidDir: path.join(dataDir, 'run'),
          auth: typeof options.registry === 'object' ? options.registry.auth : undefined,
          address: hostAddress,
        });
      })(),
    ]).catch(async error => {
      killFromPidDir(path.join(dataDir, 'run'));
      throw error;
    });
    cleanups.push(() => controlPlane.stop());
    if (s3) cleanups.push(() => s3.stop());
    cleanups.push(() => registry.stop());

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const nodeName = options.nodeName ?? 'ferry-sandbox-node';
    const built = await builtImages;
    const images = await sandboxImageReferences(registry, built, log);
    log(`Images ${built.summary}; in the registry as ${images.pause}, ${images.datamover}`);
    const node = await startRealNode(prepared, {
      kubeConfig,
      apiServerUrl: controlPlane.apiServerUrl,
      ca: pki.ca,
      nodeName,
      sandboxImage: images.pause,
      registryHost: registry.host,
      registryAuth: registry.auth,
      pidDir: path.join(dataDir, 'run'),
      log,
    });
    cleanups.push(() => node.stop());
    // The storage stack applies the upstream snapshot CRDs, StorageClass, VolumeSnapshotClass and CSIDriver.
    const storage = await startStorageStack({
      kubeconfigPath,
      dataDir,
      nodeName,
      kubeletRootDir: node.paths.kubeletRoot,
      reset: options.reset,
      log,
    });
    cleanups.push(() => storage.stop());
    if (options.crdDirs?.length) await applyObjects(kubeConfig, readManifestDirs(options.crdDirs));

    log('Manifests applied; waiting for the controller-manager and the node');
    const core = kubeConfig.makeApiClient(CoreV1Api);
    // The controller-manager works once it has created the default service account.
    await waitFor(
      async () => {
        const accounts = await core.listNamespacedServiceAccount({ namespace: 'default' });
        return accounts.items.some(a => a.metadata?.name === 'default');
      },
      { description: 'kube-controller-manager to create the default service account', timeoutMs: 60_000, intervalMs: 200 },
    );
    await waitFor(
      async () => {
        const current = await core.readNode({ name: nodeName });
        const ready = current.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True');
        return ready && !(current.spec?.taints ?? []).some(t => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
      },
      { description: `node ${nodeName} to be Ready without taints`, timeoutMs: 60_000, intervalMs: 200 },
    );
    log(`Sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s; kubeconfig: ${kubeconfigPath}`);

    const volumePath = async (pvName: string) => {
      const pv = await core.readPersistentVolume({ name: pvName });
      if (pv.spec?.csi?.driver !== csiDriverName) throw new Error(`persistent volume ${pvName} is not a ${csiDriverName} volume`);
      return storage.volumeFile(pv.spec.csi.volumeHandle);
    };
    const claimVolumePath = async ({ namespace, claim }: { namespace: string; claim: string }) => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace }).catch(error => {
        if ((error as { code?: number }).code === 404) throw new Error(`claim ${namespace}/${claim} not found`);
        throw error;
      });
      if (!pvc.spec?.volumeName) throw new Error(`claim ${namespace}/${claim} is not bound to a volume`);
      return volumePath(pvc.spec.volumeName);
    };
    let stopped = false;
    return {
      dataDir,
      kubeconfigPath,
      kubeConfig,
      apiServerUrl: controlPlane.apiServerUrl,
      nodeName,
      s3,
      registry,
      node: 'real',
      hostAddress,
      criEndpoint: node.criEndpoint,
      images,
      volumePath,
      claimVolumePath,
      async writeVolume({ namespace, claim, offset = 0, data }) {
        const file = await claimVolumePath({ namespace, claim });
        const { size } = await fs.promises.stat(file);
        if (offset + data.length > size) {
          throw new Error(`write of ${data.length} bytes at ${offset} exceeds the ${size}-byte volume of ${namespace}/${claim}`);
        }
        const handle = await fs.promises.open(file, 'r+');
        try {
          await handle.write(data, 0, data.length, offset);
        } finally {
          await handle.close();
        }
      },
      async readVolume({ namespace, claim, offset = 0, length }) {
        const file = await claimVolumePath({ namespace, claim });
        const handle = await fs.promises.open(file, 'r');
        try {
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          return buffer.subarray(0, bytesRead);
        } finally {
          await handle.close();
        }
      },
      readPodLog: ({ namespace, pod, container }) => readCriPodLog({ podLogsDir: node.paths.podLogs, namespace, pod, container }),
      async stop() {
        if (stopped) return;
        stopped = true;
        await runCleanups();
        if (temporary) {
          fs.rmSync(dataDir, { recursive: true, force: true });
          deleteFolderIfKilled(dataDir, false);
        }
      },
    };
  } catch (error) {
    await runCleanups();
    if (temporary) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      deleteFolderIfKilled(dataDir, false);
    }
    throw error;
  }
}
