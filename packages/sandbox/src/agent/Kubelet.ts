import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import type { WebSocket } from 'ws';
import { MessageInbox, runExecSession } from './execSession';
import { getOrUndefined, ignoreNotFound, splitKey, updateWithRetry } from './kube';
import { podStatus, ContainerRecord } from './podStatus';
import { PodRunner } from './PodRunner';
import { ReconcileResult } from './ReconcileQueue';
import { VolumeStore } from './VolumeStore';

export type KubeletOptions = {
  core: CoreV1Api;
  store: VolumeStore;
  nodeName: string;
  dataDir: string;
  /** Pods whose container image has this repository (tag and digest ignored) run as processes. */
  datamoverImage: string;
  /** Entrypoint of the datamover image, used when a container has no `command`. */
  datamoverEntrypoint: string[];
  binDirs: string[];
  /** Environment every process container gets (e.g. KUBERNETES_SERVICE_HOST/PORT). */
  baseEnv: Record<string, string>;
  log: (message: string) => void;
};

/** Repository part of an image reference: no digest, no tag. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
}

const maxGraceMs = 10_000;

/**
 * The sandbox kubelet: pods bound to the sandbox node whose containers all use the datamover
 * image run as local processes (PodRunner); every other pod is reported Running and Ready without
 * a process. Pod deletion kills the processes and then removes the pod (grace period 0).
 */
export class Kubelet {
  private readonly runners = new Map<string, PodRunner>();
  private readonly podIps = new Map<string, string>();
  private nextIp = 2;
  readonly podsDir: string;

  constructor(private readonly options: KubeletOptions) {
    this.podsDir = path.join(options.dataDir, 'pods');
    fs.mkdirSync(this.podsDir, { recursive: true });
  }

  isProcessPod(pod: V1Pod): boolean {
    const wanted = imageRepository(this.options.datamoverImage);
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    return containers.length > 0 && containers.every(c => imageRepository(c.image ?? '') === wanted);
  }

  podDir(pod: V1Pod): string {
    return path.join(this.podsDir, `${pod.metadata!.namespace}_${pod.metadata!.name}_${pod.metadata!.uid}`);
  }

  private podIp(uid: string): string {
    let ip = this.podIps.get(uid);
    if (!ip) {
      const n = this.nextIp++;
      ip = `10.244.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
      this.podIps.set(uid, ip);
    }
    return ip;
  }

  /** The runner of a pod that runs as processes, if any (for the log endpoint). */
  runnerFor(namespace: string, name: string): PodRunner | undefined {
    for (const runner of this.runners.values()) if (runner.podKey === `${namespace}/${name}`) return runner;
    return undefined;
  }

  async reconcilePod(key: string): Promise<ReconcileResult | undefined> {
    const { core, nodeName } = this.options;
    const { namespace, name } = splitKey(key);
    const pod = await getOrUndefined(() => core.readNamespacedPod({ name, namespace }));
    // Runners of pods that are gone (or replaced by a new pod of the same name) are killed.
    for (const [uid, runner] of this.runners) {
      if (runner.podKey === key && uid !== pod?.metadata?.uid) {
        this.runners.delete(uid);
        await runner.kill(0);
      }
    }
    if (!pod || pod.spec?.nodeName !== nodeName) return undefined;
    const uid = pod.metadata!.uid!;
    if (pod.metadata?.deletionTimestamp) {
      await this.terminate(pod);
      return undefined;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;
    if (this.runners.has(uid)) return undefined;
    if (this.isProcessPod(pod)) {
      const runner = new PodRunner({
        core,
        store: this.options.store,
        pod,
        podDir: this.podDir(pod),
        podIP: this.podIp(uid),
        binDirs: this.options.binDirs,
        entrypoint: this.options.datamoverEntrypoint,
        baseEnv: this.options.baseEnv,
        log: this.options.log,
      });
      this.runners.set(uid, runner);
      return undefined;
    }
    if (phase !== 'Running' || !pod.status?.containerStatuses?.every(c => c.ready)) {
      await this.reportRunningWithoutProcess(pod);
    }
    return undefined;
  }

  private async reportRunningWithoutProcess(pod: V1Pod) {
    const { core } = this.options;
    const now = new Date();
    const records: ContainerRecord[] = [
      ...(pod.spec?.initContainers ?? []).map(c => ({
        name: c.name,
        image: c.image ?? '',
        init: true,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
      })),
      ...pod.spec!.containers.map(c => ({
        name: c.name,
        image: c.image ?? '',
        init: false,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
    ];
    await updateWithRetry({
      read: () => core.readNamespacedPodStatus({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace! }),
      mutate: current => {
        if (current.metadata?.uid !== pod.metadata!.uid || current.metadata?.deletionTimestamp) return false;
        current.status = podStatus({ pod: current, phase: 'Running', podIP: this.podIp(pod.metadata!.uid!), records });
        return true;
      },
      write: updated =>
        core.replaceNamespacedPodStatus({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: updated }),
    });
  }

  private async terminate(pod: V1Pod) {
    const uid = pod.metadata!.uid!;
    const runner = this.runners.get(uid);
    if (runner) {
      const grace = Math.min(maxGraceMs, (pod.metadata?.deletionGracePeriodSeconds ?? 30) * 1000);
      await runner.kill(grace);
      this.runners.delete(uid);
    }
    this.podIps.delete(uid);
    await ignoreNotFound(() =>
      this.options.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      }),
    );
  }

  /** Runs an exec session for a container of a pod on this node (see execSession.ts). */
  async exec(request: {
    namespace: string;
    pod: string;
    container: string;
    command: string[];
    stdin: boolean;
    socket: WebSocket;
    inbox: MessageInbox;
  }): Promise<void> {
    const pod = await this.options.core.readNamespacedPod({ name: request.pod, namespace: request.namespace });
    if (pod.spec?.nodeName !== this.options.nodeName || pod.status?.phase !== 'Running') {
      throw new Error(`pod ${request.namespace}/${request.pod} is not running on ${this.options.nodeName}`);
    }
    await runExecSession({
      core: this.options.core,
      store: this.options.store,
      pod,
      podDir: this.podDir(pod),
      containerName: request.container,
      command: request.command,
      stdin: request.stdin,
      binDirs: this.options.binDirs,
      baseEnv: this.options.baseEnv,
      socket: request.socket,
      inbox: request.inbox,
    });
  }

  /** Kills every process pod (used when the sandbox stops). */
  async stop(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map(r => r.kill(2000)));
  }
}

/**
 * The log of a container of a pod that ran as a process in a sandbox whose data folder is
 * `dataDir` (the newest pod of that name). Undefined when there is none.
 */
export function readPodLogFile(options: {
  dataDir: string;
  namespace: string;
  pod: string;
  container?: string;
}): string | undefined {
  const podsDir = path.join(options.dataDir, 'pods');
  if (!fs.existsSync(podsDir)) return undefined;
  const prefix = `${options.namespace}_${options.pod}_`;
  const candidates = fs
    .readdirSync(podsDir)
    .filter(name => name.startsWith(prefix) && !name.slice(prefix.length).includes('_'))
    .map(name => ({ name, mtime: fs.statSync(path.join(podsDir, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const candidate of candidates) {
    const logs = path.join(podsDir, candidate.name, 'logs');
    if (!fs.existsSync(logs)) continue;
    const files = fs.readdirSync(logs).filter(f => f.endsWith('.log'));
    let file: string | undefined = options.container ? `${options.container}.log` : undefined;
    if (!options.container && files.length === 1) file = files[0];
    if (file && files.includes(file)) return fs.readFileSync(path.join(logs, file), 'utf8');
  }
  return undefined;
}
