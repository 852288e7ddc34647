import type { LoggerService } from '@backstage/backend-plugin-api';
import { KubernetesObject, makeInformer } from '@kubernetes/client-node';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import type { KubeClients } from '../pipeline/KubeClients';
import type { RestoreRunner } from '../pipeline/RestoreRunner';
import { FERRY_GROUP, FERRY_VERSION } from './BackupResource';
import { LeaderElector } from './LeaderElector';
import { RESTORE_PLURAL, RestoreResource, RestoreStatus } from './RestoreResource';
import { StatusRecorder } from './StatusRecorder';

export interface RestoreControllerOptions {
  kube: KubeClients;
  runner: RestoreRunner;
  logger: LoggerService;
  /** Namespace of the leader-election Lease (must exist). */
  leaseNamespace: string;
  /** Called with every status the controller writes, and every Restore it sees. */
  onRestore?: (cluster: string, restore: RestoreResource) => void | Promise<void>;
  concurrency?: number;
}

/**
 * The Restore controller of one cluster, the sibling of BackupController: every replica watches
 * Restore resources (for the index); the one holding the `ferry-restore-controller` Lease runs
 * each Restore that has not reached a terminal phase, resuming from its status after a crash. A
 * Restore applied with kubectl runs like one from the UI.
 */
export class RestoreController {
  private readonly elector: LeaderElector;
  private informer: ReturnType<typeof makeInformer<KubernetesObject>> | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued: string[] = [];
  private readonly concurrency: number;

  constructor(private readonly options: RestoreControllerOptions) {
    this.concurrency = options.concurrency ?? 2;
    this.elector = new LeaderElector({
      kube: options.kube,
      namespace: options.leaseNamespace,
      name: 'ferry-restore-controller',
      logger: options.logger,
      onStartedLeading: () => this.reconcileAll(),
      onStoppedLeading: () => undefined,
    });
  }

  start(): void {
    this.startWatching();
    this.elector.start();
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    const informer = this.informer;
    this.informer = undefined;
    await informer?.stop().catch(() => undefined);
  }

  /** Resolves when every run this replica started has ended (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) {
      await Promise.allSettled([...this.running.values()]);
    }
  }

  private startWatching() {
    const { custom, cluster } = this.options.kube;
    const informer = makeInformer(
      this.options.kube.kubeConfig,
      `/apis/${FERRY_GROUP}/${FERRY_VERSION}/${RESTORE_PLURAL}`,
      () => custom.listClusterCustomObject({ group: FERRY_GROUP, version: FERRY_VERSION, plural: RESTORE_PLURAL }) as never,
    );
    const seen = (object: KubernetesObject) => this.reconcile(object as unknown as RestoreResource);
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('error', error => {
      this.options.logger.warn(`Watch of Restores on ${cluster} failed: ${error}`);
      setTimeout(() => {
        if (this.informer === informer) informer.start().catch(() => undefined);
      }, 5000);
    });
    this.informer = informer;
    informer.start().catch(error => this.options.logger.error(`Could not watch Restores on ${cluster}: ${error}`));
  }

  private reconcileAll() {
    for (const object of this.informer?.list() ?? []) {
      this.reconcile(object as unknown as RestoreResource);
    }
  }

  private reconcile(restore: RestoreResource) {
    void this.options.onRestore?.(this.options.kube.cluster, restore);
    const key = `${restore.metadata.namespace}/${restore.metadata.name}`;
    const phase = restore.status?.phase;
    if (!this.elector.isLeader || restore.metadata.deletionTimestamp) return;
    if (phase && isTerminalPhase(phase)) return;
    if (this.running.has(key) || this.queued.includes(key)) return;
    this.queued.push(key);
    this.drain();
  }

  private drain() {
    while (this.running.size < this.concurrency && this.queued.length > 0) {
      const key = this.queued.shift()!;
      const run = this.runOne(key).finally(() => {
        this.running.delete(key);
        this.drain();
      });
      this.running.set(key, run);
    }
  }

  private async runOne(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    const { kube, logger } = this.options;
    let restore: RestoreResource;
    try {
      restore = (await kube.custom.getNamespacedCustomObject({
        group: FERRY_GROUP,
        version: FERRY_VERSION,
        plural: RESTORE_PLURAL,
        namespace,
        name,
      })) as RestoreResource;
    } catch (error) {
      logger.warn(`Could not read Restore ${key}: ${error}`);
      return;
    }
    if (restore.status?.phase && isTerminalPhase(restore.status.phase)) return;
    const status: RestoreStatus = structuredClone(restore.status ?? {});
    const recorder = new StatusRecorder<RestoreStatus>({
      api: kube.custom,
      plural: RESTORE_PLURAL,
      namespace,
      name,
      status,
      isAllowed: () => this.elector.isLeader,
      onWrite: written => this.options.onRestore?.(kube.cluster, { ...restore, status: written }),
    });
    logger.info(`Running Restore ${key} on cluster ${kube.cluster}`);
    await this.options.runner.run({ restore, recorder });
  }
}
