import type { LoggerService } from '@backstage/backend-plugin-api';
import type { V1Lease } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isConflict, isNotFound, KubeClients } from '../pipeline/KubeClients';

export interface LeaderElectorOptions {
  kube: KubeClients;
  namespace: string;
  name: string;
  logger: LoggerService;
  leaseDurationSeconds?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/**
 * Leader election per cluster through a coordination.k8s.io Lease, as client-go's leaderelection
 * does it: the holder renews every third of the lease; anyone may take over a lease that was not
 * renewed for its whole duration. Updates carry the resourceVersion, so of two contenders only
 * one wins (the other gets 409 Conflict).
 */
export class LeaderElector {
  readonly identity = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly durationSeconds: number;

  constructor(private readonly options: LeaderElectorOptions) {
    this.durationSeconds = options.leaseDurationSeconds ?? 15;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      try {
        this.setLeading(await this.tryAcquireOrRenew());
      } catch (error) {
        this.options.logger.warn(`Leader election on ${this.options.kube.cluster} failed: ${error}`);
        this.setLeading(false);
      }
      if (!this.stopped) {
        this.timer = setTimeout(tick, (this.durationSeconds * 1000) / 3);
      }
    };
    void tick();
  }

  /** Stops renewing and gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      this.setLeading(false);
      try {
        const lease = await this.read();
        if (lease?.spec?.holderIdentity === this.identity) {
          lease.spec.holderIdentity = undefined;
          lease.spec.renewTime = undefined;
          await this.options.kube.coordination.replaceNamespacedLease({
            namespace: this.options.namespace,
            name: this.options.name,
            body: lease,
          });
        }
      } catch {
        // the lease expires by itself
      }
    }
  }

  private setLeading(leading: boolean) {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.logger.info(
      `${leading ? 'Became' : 'No longer'} the Ferry controller leader on cluster ${this.options.kube.cluster} (${this.identity})`,
    );
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.options.kube.coordination.readNamespacedLease({
        namespace: this.options.namespace,
        name: this.options.name,
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { coordination } = this.options.kube;
    const { namespace, name } = this.options;
    const now = new Date();
    const lease = await this.read();
    if (!lease) {
      try {
        await coordination.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: this.durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? this.durationSeconds) * 1000 < now.getTime();
    if (holder && holder !== this.identity && !expired) {
      return false;
    }
    lease.spec = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.durationSeconds,
      renewTime: now,
      acquireTime: holder === this.identity ? spec.acquireTime : now,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1),
    };
    try {
      await coordination.replaceNamespacedLease({ namespace, name, body: lease });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }
}
