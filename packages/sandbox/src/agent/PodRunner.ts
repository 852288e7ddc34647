import { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { agentComponent } from './constants';
import { ContainerExit, RunningContainer, startContainer } from './containerProcess';
import { recordEvent, updateWithRetry } from './kube';
import { containerEnv } from './podEnv';
import { ContainerRecord, containerId, podStatus, waitingRecord } from './podStatus';
import { preparePodVolumes, PreparedVolume, VolumeNotReady, VolumeUnsupported } from './podVolumes';
import { VolumeStore } from './VolumeStore';

export type PodRunnerOptions = {
  core: CoreV1Api;
  store: VolumeStore;
  pod: V1Pod;
  podDir: string;
  podIP: string;
  binDirs: string[];
  entrypoint: string[];
  baseEnv: Record<string, string>;
  log: (message: string) => void;
};

const maxMessageBytes = 4096;

/**
 * Runs one pod's containers as local processes (init containers one after the other, then the
 * others together), honouring restartPolicy, and reports every transition into the pod status.
 */
export class PodRunner {
  private readonly records: ContainerRecord[];
  private readonly running = new Map<string, RunningContainer>();
  private phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' = 'Pending';
  private stopping = false;
  private deadlineExceeded = false;
  private deadlineTimer?: NodeJS.Timeout;
  private statusChain: Promise<void> = Promise.resolve();
  readonly done: Promise<void>;

  constructor(private readonly options: PodRunnerOptions) {
    const spec = options.pod.spec!;
    this.records = [
      ...(spec.initContainers ?? []).map(c => waitingRecord(c.name, c.image ?? '', true)),
      ...spec.containers.map(c => waitingRecord(c.name, c.image ?? '', false)),
    ];
    this.done = this.run().catch(error => this.options.log(`Pod runner of ${this.podKey} failed: ${String(error)}`));
  }

  get podKey() {
    return `${this.options.pod.metadata!.namespace}/${this.options.pod.metadata!.name}`;
  }

  logFile(container: string) {
    return path.join(this.options.podDir, 'logs', `${container}.log`);
  }

  isRunning(container: string): boolean {
    return this.running.has(container);
  }

  /** True once a container will produce no more output (terminated, or the pod is over). */
  isFinished(container: string): boolean {
    const record = this.records.find(r => r.name === container);
    if (!record) return true;
    return !this.running.has(container) && (Boolean(record.state.terminated) || this.stopping || this.phase === 'Failed' || this.phase === 'Succeeded');
  }

  /** Kills the containers (SIGTERM, SIGKILL after the grace period) and waits for the runner to end. */
  async kill(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.deadlineTimer);
    await Promise.all([...this.running.values()].map(c => c.kill(graceMs)));
    await this.done;
    await this.statusChain;
  }

  private record(name: string) {
    return this.records.find(r => r.name === name)!;
  }

  private report(reason?: string, message?: string) {
    const { core, pod } = this.options;
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    const phase = this.phase;
    const records = this.records.map(r => ({ ...r }));
    this.statusChain = this.statusChain.then(() =>
      updateWithRetry({
        read: () => core.readNamespacedPodStatus({ name, namespace }),
        mutate: current => {
          if (current.metadata?.uid !== pod.metadata!.uid) return false;
          const terminal = current.status?.phase === 'Succeeded' || current.status?.phase === 'Failed';
          if (terminal) return false;
          current.status = podStatus({ pod: current, phase, podIP: this.options.podIP, records, reason, message });
          return true;
        },
        write: updated => core.replaceNamespacedPodStatus({ name, namespace, body: updated }),
      }).catch(error => {
        if ((error as { code?: number }).code !== 404) {
          this.options.log(`Status update of pod ${this.podKey} failed: ${String(error)}`);
        }
      }),
    );
    return this.statusChain;
  }

  private async prepare(): Promise<Map<string, PreparedVolume> | undefined> {
    const { core, store, pod, podDir } = this.options;
    let lastMessage = '';
    for (;;) {
      if (this.stopping) return undefined;
      try {
        return await preparePodVolumes({ core, store, pod, podDir });
      } catch (error) {
        if (!(error instanceof VolumeNotReady)) throw error;
        if (error.message !== lastMessage) {
          lastMessage = error.message;
          await recordEvent(core, {
            object: { ...pod, apiVersion: 'v1', kind: 'Pod' },
            type: 'Warning',
            reason: 'FailedMount',
            message: `MountVolume.SetUp failed: ${error.message}`,
            component: agentComponent,
          });
        }
        await new Promise(resolve => setTimeout(resolve, 1000));
      }
    }
  }

  /** spec.activeDeadlineSeconds: the kubelet fails the pod (reason DeadlineExceeded) when it runs longer. */
  private armDeadline() {
    const seconds = this.options.pod.spec?.activeDeadlineSeconds;
    if (!seconds) return;
    const started = this.options.pod.status?.startTime ? new Date(this.options.pod.status.startTime).getTime() : Date.now();
    this.deadlineTimer = setTimeout(() => {
      this.deadlineExceeded = true;
      this.stopping = true;
      const grace = Math.min(10, this.options.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      for (const container of this.running.values()) container.kill(grace).catch(() => undefined);
    }, Math.max(0, started + seconds * 1000 - Date.now()));
  }

  private async run() {
    const { pod } = this.options;
    this.armDeadline();
    await this.report();
    let volumes: Map<string, PreparedVolume> | undefined;
    try {
      volumes = await this.prepare();
    } catch (error) {
      if (!(error instanceof VolumeUnsupported)) throw error;
      await this.failPod('UnsupportedVolume', error.message);
      return;
    }
    if (!volumes) {
      if (this.deadlineExceeded) await this.finish();
      return;
    }
    for (const container of pod.spec!.initContainers ?? []) {
      if (!(await this.runWithRestarts(container, volumes, true))) {
        await this.finish();
        return;
      }
    }
    this.phase = 'Running';
    await Promise.all(pod.spec!.containers.map(c => this.runWithRestarts(c, volumes!, false)));
    await this.finish();
  }

  private async failPod(reason: string, message: string) {
    this.options.log(`Pod ${this.podKey} failed: ${message}`);
    for (const record of this.records) {
      record.state = { terminated: { exitCode: 128, reason: 'ContainerCannotRun', message, finishedAt: new Date() } };
    }
    this.phase = 'Failed';
    await this.report(reason, message);
  }

  private async finish() {
    const main = this.records.filter(r => !r.init);
    const init = this.records.filter(r => r.init);
    const failed = [...init, ...main].some(r => r.state.terminated && r.state.terminated.exitCode !== 0);
    const allDone = main.every(r => r.state.terminated);
    if (!allDone) {
      for (const record of main) {
        if (!record.state.terminated) record.state = { waiting: { reason: 'PodInitializing' } };
      }
    }
    clearTimeout(this.deadlineTimer);
    if (this.deadlineExceeded) {
      this.phase = 'Failed';
      await this.report('DeadlineExceeded', 'Pod was active on the node longer than the specified deadline');
      return;
    }
    this.phase = failed || !allDone ? 'Failed' : 'Succeeded';
    await this.report();
  }

  /** Runs a container until it succeeds or the restart policy says stop; true when it ended with 0. */
  private async runWithRestarts(container: V1Container, volumes: Map<string, PreparedVolume>, init: boolean) {
    const policy = this.options.pod.spec!.restartPolicy ?? 'Always';
    const record = this.record(container.name);
    for (let attempt = 0; ; attempt++) {
      if (this.stopping) return false;
      const exit = await this.runOnce(container, volumes, record);
      if (this.stopping) return exit.exitCode === 0;
      const restart = policy === 'Always' || (policy === 'OnFailure' && exit.exitCode !== 0);
      if (!restart || (init && exit.exitCode === 0)) return exit.exitCode === 0;
      const backoff = Math.min(10_000, 1000 * 2 ** attempt);
      record.lastState = record.state;
      record.restartCount += 1;
      record.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoff / 1000}s restarting failed container` } };
      await this.report();
      await new Promise(resolve => setTimeout(resolve, backoff));
    }
  }

  private async runOnce(
    container: V1Container,
    volumes: Map<string, PreparedVolume>,
    record: ContainerRecord,
  ): Promise<ContainerExit> {
    const { core, pod } = this.options;
    let running: RunningContainer;
    try {
      const env = await containerEnv(core, pod, container);
      running = startContainer({
        pod,
        container,
        volumes,
        env,
        baseEnv: this.options.baseEnv,
        binDirs: this.options.binDirs,
        entrypoint: this.options.entrypoint,
        containerDir: path.join(this.options.podDir, 'containers', container.name),
        logFile: this.logFile(container.name),
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      record.state = {
        terminated: { exitCode: 128, reason: 'StartError', message, startedAt: new Date(), finishedAt: new Date() },
      };
      await this.report();
      return { exitCode: 128, signal: null };
    }
    this.running.set(container.name, running);
    // Killed (deleted pod, deadline) while it was being started.
    if (this.stopping) running.kill(0).catch(() => undefined);
    record.state = { running: { startedAt: running.startedAt } };
    if (!record.init) this.phase = 'Running';
    this.options.log(`Started container ${container.name} of pod ${this.podKey}`);
    await this.report();
    const exit = await running.exited;
    this.running.delete(container.name);
    const message = this.terminationMessage(container, running, exit.exitCode);
    record.state = {
      terminated: {
        exitCode: exit.exitCode,
        signal: exit.signal ? exit.exitCode - 128 : undefined,
        reason: exit.exitCode === 0 ? 'Completed' : 'Error',
        message: message || undefined,
        startedAt: running.startedAt,
        finishedAt: new Date(),
        containerID: containerId(pod, container.name),
      },
    };
    this.options.log(`Container ${container.name} of pod ${this.podKey} exited with ${exit.exitCode}`);
    await this.report();
    return exit;
  }

  private terminationMessage(container: V1Container, running: RunningContainer, exitCode: number): string {
    let message = '';
    try {
      message = fs.readFileSync(running.terminationFile).subarray(0, maxMessageBytes).toString('utf8');
    } catch {
      // none written
    }
    if (!message && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      try {
        const lines = fs.readFileSync(this.logFile(container.name), 'utf8').trimEnd().split('\n').slice(-80).join('\n');
        message = Buffer.from(lines).subarray(-2048).toString('utf8');
      } catch {
        // no log
      }
    }
    return message;
  }
}
