import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyObjects, readManifestDirs } from './applyManifests';
import { packageRoot, repoRoot, sandboxVersions } from './binaries';
import { startControlPlane } from './controlPlane';
import { deleteFolderIfKilled, killFromPidDir, runIfKilled } from './managedProcess';
import { ensurePki } from './pki';
import { Registry, startRegistry } from './registry';
import { S3Server, startS3Server } from './s3Server';
import { driverName } from './agent/constants';
import { readPodLogFile } from './agent/Kubelet';
import { NodeAgent, startNodeAgent } from './agent/NodeAgent';
import { buildSandboxImages, BuiltSandboxImages, sandboxImageReferences, SandboxImages, seedSandboxImages } from './images/sandboxImages';
import { prepareRealNode, PreparedNode, RealNode, startRealNode } from './node/realNode';
import { readCriPodLog } from './node/podLogs';
import { csiStackStarter, StorageStack } from './node/storageStack';
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
  /** Start an OCI registry (Debian docker-registry) with data under `<dataDir>/registry` (default false). */
  registry?: boolean | { auth: { username: string; password: string } };
  /** Image whose pods run as local processes (repository compared, tag ignored). Default `ferry.io/datamover:dev`. */
  datamoverImage?: string;
  /** Entrypoint of that image when a container gives no `command`. Default `['ferry-datamover']`. */
  datamoverEntrypoint?: string[];
  /** Prepended to PATH of process pods (e.g. where the `ferry-datamover` launcher is). */
  binDirs?: string[];
  /** Default `ferry-sandbox-node`. */
  nodeName?: string;
  /** Nominal node capacity. Default cpu 16, memory 64Gi, pods 250, ephemeral-storage 200Gi. */
  capacity?: Record<string, string>;
  /** Progress messages; default: none. */
  log?: (message: string) => void;
  /**
   * `simulated` (default): the node agent (src/agent/) plays kubelet and CSI driver.
   * `real`: the upstream kubelet with containerd, runc and CNI (src/node/, root only; implies a
   * registry, which holds the pause image). See the README ("The real node").
   */
  node?: 'simulated' | 'real';
};

export type Sandbox = {
  dataDir: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  apiServerUrl: string;
  nodeName: string;
  /** The S3 server (undefined with `s3: false`). */
  s3?: S3Server;
  /** The OCI registry (with `registry` set, and always with a real node). */
  registry?: Registry;
  /** Which node runs pods. */
  node: 'simulated' | 'real';
  /**
   * The host's address as pods see it: a real node's bridge address (the S3 endpoint and the
   * registry use it, so their URLs work from pods and from this machine), else 127.0.0.1.
   */
  hostAddress: string;
  /** containerd's CRI endpoint of a real node (`crictl --runtime-endpoint <it> ps`). */
  criEndpoint?: string;
  /** Images a real node needs, pushed to the sandbox registry (references with the registry host). */
  images?: SandboxImages;
  /** Backing sparse file of a PersistentVolume provisioned by the sandbox. */
  volumePath(pvName: string): Promise<string>;
  /** Backing sparse file of a bound claim. */
  claimVolumePath(options: { namespace: string; claim: string }): Promise<string>;
  /** Writes bytes into a bound claim's volume at an offset (the volume keeps its size). */
  writeVolume(options: { namespace: string; claim: string; offset?: number; data: Buffer }): Promise<void>;
  /** Reads bytes from a bound claim's volume. */
  readVolume(options: { namespace: string; claim: string; offset?: number; length: number }): Promise<Buffer>;
  /** stdout+stderr of a container of a process pod (see README), undefined when none. */
  readPodLog(options: { namespace: string; pod: string; container?: string }): string | undefined;
  /** Stops everything started (processes killed by process group, ports freed). */
  stop(): Promise<void>;
};

const defaultCapacity = { cpu: '16', memory: '64Gi', pods: '250', 'ephemeral-storage': '200Gi' };

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
 * binaries, see scripts/build-binaries.sh), the node agent (node, CSI driver sandbox.ferry.io,
 * kubelet) in this process, an S3 server, the VolumeSnapshot CRDs, StorageClass and
 * VolumeSnapshotClass `ferry-sandbox`, and the CRDs of `crdDirs`.
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
      for (const sub of ['etcd', 'volumes', 'snapshots', 'pods', 's3', 'registry', 'logs', 'apiserver']) {
        fs.rmSync(path.join(dataDir, sub), { recursive: true, force: true });
      }
    }
    const pki = ensurePki(path.join(dataDir, 'pki'));
    const kubeconfigPath = path.resolve(options.kubeconfigPath ?? path.join(dataDir, 'kubeconfig'));
    const realNode = options.node === 'real';
    let prepared: PreparedNode | undefined;
    // Built once and cached (about 1.5 min the first time on this machine, then well under a second).
    const builtImages: Promise<BuiltSandboxImages> | undefined = realNode ? buildSandboxImages() : undefined;
    builtImages?.catch(() => undefined);
    if (realNode) {
      // The bridge comes first: the S3 server and the registry listen on its address.
      // Should this process die hard, the watchdog reaps the node (before deleting an ephemeral folder).
      runIfKilled([process.execPath, path.join(packageRoot, 'bin', 'node-cleanup.cjs')]);
      prepared = await prepareRealNode({ dataDir, log });
      const release = prepared.release;
      cleanups.push(() => release());
    }
    const hostAddress = prepared?.hostAddress ?? '127.0.0.1';
    const [controlPlane, s3, registry] = await Promise.all([
      startControlPlane({ dataDir, pki, kubeconfigPath, log, websocketPassThrough: !realNode }),
      options.s3 === false
        ? Promise.resolve(undefined)
        : startS3Server({
            dataDir: path.join(dataDir, 's3'),
            logFile: path.join(dataDir, 'logs', 'versitygw.log'),
            pidDir: path.join(dataDir, 'run'),
            accessKeyId: 'ferry-sandbox',
            secretAccessKey: 'ferry-sandbox-secret',
            hostAddress: prepared?.hostAddress,
          }),
      options.registry || realNode
        ? (async () => {
            // A real node's images are laid into the registry's storage before it starts (no upload).
            if (builtImages) seedSandboxImages(path.join(dataDir, 'registry', 'storage'), await builtImages);
            return startRegistry({
              dataDir: path.join(dataDir, 'registry'),
              pidDir: path.join(dataDir, 'run'),
              auth: typeof options.registry === 'object' ? options.registry.auth : undefined,
              address: prepared?.hostAddress,
            });
          })()
        : Promise.resolve(undefined),
    ]).catch(async error => {
      killFromPidDir(path.join(dataDir, 'run'));
      throw error;
    });
    cleanups.push(() => controlPlane.stop());
    if (s3) cleanups.push(() => s3.stop());
    if (registry) cleanups.push(() => registry.stop());

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const nodeName = options.nodeName ?? 'ferry-sandbox-node';
    let agent: NodeAgent | undefined;
    let node: RealNode | undefined;
    let images: SandboxImages | undefined;
    let storage: StorageStack | undefined;
    if (prepared && registry && builtImages) {
      const built = await builtImages;
      images = await sandboxImageReferences(registry, built, log);
      log(`Images ${built.summary}; in the registry as ${images.pause}, ${images.datamover}`);
      node = await startRealNode(prepared, {
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
      const running = node;
      cleanups.push(() => running.stop());
      const startStorage = csiStackStarter();
      if (startStorage) {
        storage = await startStorage({
          kubeConfig,
          kubeconfigPath,
          apiServerUrl: controlPlane.apiServerUrl,
          dataDir,
          nodeName,
          kubeletRootDir: node.paths.kubeletRoot,
          pluginRegistrationDir: path.join(node.paths.kubeletRoot, 'plugins_registry'),
          pidDir: path.join(dataDir, 'run'),
          log,
        });
        const stack = storage;
        cleanups.push(() => stack.stop());
      } else {
        log('No storage stack for the real node yet (src/csi/): claims of the sandbox StorageClass stay Pending');
      }
    } else {
      const simulated = await startNodeAgent({
        kubeConfig,
        dataDir,
        nodeName,
        kubeletVersion: sandboxVersions().kubernetes,
        datamoverImage: options.datamoverImage ?? 'ferry.io/datamover:dev',
        datamoverEntrypoint: options.datamoverEntrypoint ?? ['ferry-datamover'],
        binDirs: (options.binDirs ?? []).map(dir => path.resolve(dir)),
        capacity: { ...defaultCapacity, ...options.capacity },
        kubeletTls: pki.kubelet,
        caFile: pki.ca.cert,
        apiServerUrl: controlPlane.apiServerUrl,
        log,
      });
      agent = simulated;
      cleanups.push(() => simulated.stop());
    }

    // A real node's storage stack applied the upstream snapshot CRDs and its storage objects: the
    // built-in (trimmed) CRDs are for the simulated node only.
    if (!storage) {
      log('Applying VolumeSnapshot CRDs, storage classes and extra CRDs');
      await applyObjects(kubeConfig, readManifestDirs([path.join(packageRoot, 'manifests')]));
    }
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
      if (pv.spec?.csi?.driver !== driverName) throw new Error(`persistent volume ${pvName} is not a ${driverName} volume`);
      if (agent) return agent.store.volumeFile(pv.spec.csi.volumeHandle);
      if (storage?.volumeFile) return storage.volumeFile(pv.spec.csi.volumeHandle);
      throw new Error(`persistent volume ${pvName}: this sandbox's real node has no storage stack that exposes volume files`);
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
      node: realNode ? 'real' : 'simulated',
      hostAddress,
      criEndpoint: node?.criEndpoint,
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
      readPodLog: ({ namespace, pod, container }) =>
        node
          ? readCriPodLog({ podLogsDir: node.paths.podLogs, namespace, pod, container })
          : readPodLogFile({ dataDir, namespace, pod, container }),
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
