import type { LoggerService } from '@backstage/backend-plugin-api';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isConflict, isNotFound, KubeClients } from '../pipeline/KubeClients';

/** A Lease as JSON: its times are MicroTime strings (RFC 3339 with six fractional digits). */
interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** MicroTime: the API server refuses millisecond precision for Lease times. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

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
          lease.spec.holderIdentity = null;
          lease.spec.renewTime = null;
          await this.options.kube.json.put(this.path(), lease);
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

  private path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`;
    return name === undefined ? `${base}/${this.options.name}` : base;
  }

  private async read(): Promise<LeaseObject | undefined> {
    try {
      return await this.options.kube.json.get<LeaseObject>(this.path());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { json } = this.options.kube;
    const { namespace, name } = this.options;
    const now = new Date();
    const lease = await this.read();
    if (!lease) {
      try {
        await json.post(this.path(''), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        } satisfies LeaseObject);
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
      renewTime: microTime(now),
      acquireTime: holder === this.identity ? spec.acquireTime : microTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1),
    };
    try {
      // The resourceVersion read above makes this a compare-and-swap.
      await json.put(this.path(), lease);
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }
}
