import type { LoggerService } from '@backstage/backend-plugin-api';
import { KubernetesObject, makeInformer } from '@kubernetes/client-node';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import type { BackupRunner } from '../pipeline/BackupRunner';
import type { KubeClients } from '../pipeline/KubeClients';
import {
  BACKUP_PLURAL,
  BackupResource,
  BackupStatus,
  FERRY_GROUP,
  FERRY_VERSION,
} from './BackupResource';
import { backupTarget } from './backupTarget';
import { LeaderElector } from './LeaderElector';
import { StatusRecorder } from './StatusRecorder';

export interface BackupControllerOptions {
  kube: KubeClients;
  runner: BackupRunner;
  logger: LoggerService;
  /** Namespace of the leader-election Lease (must exist). */
  leaseNamespace: string;
  /** Called with every status the controller writes, and every Backup it sees. */
  onBackup?: (cluster: string, backup: BackupResource) => void | Promise<void>;
  /** How many backups this controller runs at once in one cluster. */
  concurrency?: number;
}

/**
 * The Backup controller of one cluster. Every replica watches Backup resources in every
 * namespace (to keep its database index current); the one elected through a Lease runs each
 * Backup that has not reached a terminal phase, so a backup runs once across all replicas. A
 * Backup created by kubectl or GitOps runs like one from the UI.
 */
export class BackupController {
  private readonly elector: LeaderElector;
  private informer: ReturnType<typeof makeInformer<KubernetesObject>> | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued: string[] = [];
  private readonly concurrency: number;

  constructor(private readonly options: BackupControllerOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.elector = new LeaderElector({
      kube: options.kube,
      namespace: options.leaseNamespace,
      name: 'ferry-backup-controller',
      logger: options.logger,
      onStartedLeading: () => this.reconcileAll(),
      onStoppedLeading: () => undefined,
    });
  }

  get identity(): string {
    return this.elector.identity;
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
    this.stopWatching();
  }

  /** Resolves when every run this replica started has ended (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) {
      await Promise.allSettled([...this.running.values()]);
    }
  }

  private startWatching() {
    const { custom } = this.options.kube;
    const informer = makeInformer(
      this.options.kube.kubeConfig,
      `/apis/${FERRY_GROUP}/${FERRY_VERSION}/${BACKUP_PLURAL}`,
      () =>
        custom.listClusterCustomObject({
          group: FERRY_GROUP,
          version: FERRY_VERSION,
          plural: BACKUP_PLURAL,
        }) as never,
    );
    const seen = (object: KubernetesObject) => this.reconcile(object as unknown as BackupResource);
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('error', error => {
      this.options.logger.warn(`Watch of Backups on ${this.options.kube.cluster} failed: ${error}`);
      setTimeout(() => {
        if (this.informer === informer) informer.start().catch(() => undefined);
      }, 5000);
    });
    this.informer = informer;
    informer.start().catch(error =>
      this.options.logger.error(`Could not watch Backups on ${this.options.kube.cluster}: ${error}`),
    );
  }

  /** On becoming leader: every Backup in the watch cache that is not finished (crash resume). */
  private reconcileAll() {
    for (const object of this.informer?.list() ?? []) {
      this.reconcile(object as unknown as BackupResource);
    }
  }

  private stopWatching() {
    const informer = this.informer;
    this.informer = undefined;
    informer?.stop().catch(() => undefined);
  }

  private reconcile(backup: BackupResource) {
    void this.options.onBackup?.(this.options.kube.cluster, backup);
    const key = `${backup.metadata.namespace}/${backup.metadata.name}`;
    const phase = backup.status?.phase;
    if (!this.elector.isLeader || backup.metadata.deletionTimestamp) return;
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
    let backup: BackupResource;
    try {
      // Read it fresh: the informer's copy may predate a status another replica wrote.
      backup = (await kube.custom.getNamespacedCustomObject({
        group: FERRY_GROUP,
        version: FERRY_VERSION,
        plural: BACKUP_PLURAL,
        namespace,
        name,
      })) as BackupResource;
    } catch (error) {
      logger.warn(`Could not read Backup ${key}: ${error}`);
      return;
    }
    if (backup.status?.phase && isTerminalPhase(backup.status.phase)) return;
    const status: BackupStatus = structuredClone(backup.status ?? {});
    const recorder = new StatusRecorder({
      api: kube.custom,
      plural: BACKUP_PLURAL,
      namespace,
      name,
      status,
      isAllowed: () => this.elector.isLeader,
      onWrite: written =>
        this.options.onBackup?.(kube.cluster, { ...backup, status: written }),
    });
    logger.info(`Running Backup ${key} on cluster ${kube.cluster}`);
    await this.options.runner.run({ backup, target: backupTarget(kube.cluster, backup), recorder });
  }
}
