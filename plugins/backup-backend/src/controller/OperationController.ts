import type { LoggerService } from '@backstage/backend-plugin-api';
import { KubernetesObject, makeInformer } from '@kubernetes/client-node';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import type { KubeClients } from '../pipeline/KubeClients';
import { BackupStatus, FERRY_GROUP, FERRY_VERSION } from './BackupResource';
import { LeaderElector } from './LeaderElector';
import { StatusRecorder } from './StatusRecorder';

/** What the controller needs of a Ferry operation resource (Backup, Restore). */
export interface OperationResource<S extends BackupStatus> {
  metadata: { name: string; namespace: string; deletionTimestamp?: string };
  status?: S;
}

export interface OperationControllerOptions<S extends BackupStatus, R extends OperationResource<S>> {
  kube: KubeClients;
  logger: LoggerService;
  /** `Backup` or `Restore`, for logs. */
  kind: string;
  /** Plural of the resource in the `ferry.io` API group. */
  plural: string;
  /** Name of the leader-election Lease. */
  leaseName: string;
  /** Namespace of the Lease (must exist). */
  leaseNamespace: string;
  /** How many operations this controller runs at once in one cluster. */
  concurrency: number;
  /** Called with every resource the controller sees and every status it writes. */
  onResource?: (cluster: string, resource: R) => void | Promise<void>;
  /** Drives one operation, recording its progress with `recorder`. */
  run: (resource: R, recorder: StatusRecorder<S>) => Promise<void>;
}

/**
 * The controller of one kind of Ferry operation in one cluster. Every replica watches the
 * resources in every namespace (to keep its database index current); the one elected through a
 * Lease runs each resource that has not reached a terminal phase, so an operation runs once across
 * all replicas, and the next leader resumes it from its status after a crash. A resource applied
 * with kubectl or GitOps runs like one from the UI.
 */
export class OperationController<S extends BackupStatus, R extends OperationResource<S>> {
  private readonly elector: LeaderElector;
  private informer: ReturnType<typeof makeInformer<KubernetesObject>> | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued: string[] = [];

  constructor(private readonly options: OperationControllerOptions<S, R>) {
    this.elector = new LeaderElector({
      kube: options.kube,
      namespace: options.leaseNamespace,
      name: options.leaseName,
      logger: options.logger,
      onStartedLeading: () => this.reconcileAll(),
      onStoppedLeading: () => undefined,
    });
  }

  get identity(): string {
    return this.elector.identity;
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.startWatching();
    this.elector.start();
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
    const { kind, plural, logger } = this.options;
    const informer = makeInformer(
      this.options.kube.kubeConfig,
      `/apis/${FERRY_GROUP}/${FERRY_VERSION}/${plural}`,
      () =>
        custom.listClusterCustomObject({ group: FERRY_GROUP, version: FERRY_VERSION, plural }) as never,
    );
    const seen = (object: KubernetesObject) => this.reconcile(object as unknown as R);
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('error', error => {
      if (this.informer !== informer) return; // stopped: the abort is ours
      logger.warn(`Watch of ${kind}s on ${cluster} failed: ${error}`);
      setTimeout(() => {
        if (this.informer === informer) informer.start().catch(() => undefined);
      }, 5000);
    });
    this.informer = informer;
    informer
      .start()
      .catch(error => logger.error(`Could not watch ${kind}s on ${cluster}: ${error}`));
  }

  /** On becoming leader: every resource in the watch cache that is not finished (crash resume). */
  private reconcileAll() {
    for (const object of this.informer?.list() ?? []) {
      this.reconcile(object as unknown as R);
    }
  }

  private reconcile(resource: R) {
    void this.options.onResource?.(this.options.kube.cluster, resource);
    const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
    const phase = resource.status?.phase;
    if (!this.elector.isLeader || resource.metadata.deletionTimestamp) return;
    if (phase && isTerminalPhase(phase)) return;
    if (this.running.has(key) || this.queued.includes(key)) return;
    this.queued.push(key);
    this.drain();
  }

  private drain() {
    while (this.running.size < this.options.concurrency && this.queued.length > 0) {
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
    const { kube, logger, kind, plural } = this.options;
    let resource: R;
    try {
      // Read it fresh: the informer's copy may predate a status another replica wrote.
      resource = (await kube.custom.getNamespacedCustomObject({
        group: FERRY_GROUP,
        version: FERRY_VERSION,
        plural,
        namespace,
        name,
      })) as R;
    } catch (error) {
      logger.warn(`Could not read ${kind} ${key}: ${error}`);
      return;
    }
    if (resource.status?.phase && isTerminalPhase(resource.status.phase)) return;
    const recorder = new StatusRecorder<S>({
      api: kube.custom,
      plural,
      namespace,
      name,
      status: structuredClone(resource.status ?? ({} as S)),
      isAllowed: () => this.elector.isLeader,
      onWrite: written => this.options.onResource?.(kube.cluster, { ...resource, status: written }),
    });
    logger.info(`Running ${kind} ${key} on cluster ${kube.cluster}`);
    await this.options.run(resource, recorder);
  }
}
