import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { OperationFailure } from '@ferry/plugin-backup-common';
import {
  BackupStatus,
  Condition,
  FERRY_GROUP,
  FERRY_VERSION,
  VolumeStatus,
} from './BackupResource';
import { mergePatch } from '../pipeline/KubeClients';

/** Progress-only changes are written at most this often. */
const PROGRESS_INTERVAL_MS = 1000;
/** The timeline keeps its last entries; older ones are summarised by the count. */
const MAX_TIMELINE = 100;

/** This replica is no longer the controller leader: it must not touch the operation any more. */
export class LostLeadershipError extends Error {
  constructor(name: string) {
    super(`no longer the leader: ${name} is left to the new leader`);
    this.name = 'LostLeadershipError';
  }
}

/**
 * The status of one Ferry resource (Backup or Restore) as the controller sees it, written through
 * the status subresource. Every step change is written at once; byte progress at most once a
 * second. The resource's `.status` is the source of truth a resuming controller starts from.
 */
export class StatusRecorder<S extends BackupStatus = BackupStatus> {
  private pendingTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** A write queued behind the one in flight, not started yet: later changes ride on it. */
  private queued: Promise<void> | undefined;
  private lastWrite = 0;

  constructor(
    private readonly options: {
      api: CustomObjectsApi;
      plural: string;
      namespace: string;
      name: string;
      status: S;
      /** Called after each successful write, e.g. to update the database index. */
      onWrite?: (status: S) => void | Promise<void>;
      /**
       * False once this replica must stop writing (it lost leadership): the run then ends at its
       * next status write with LostLeadershipError, leaving everything for the new leader.
       */
      isAllowed?: () => boolean;
    },
  ) {}

  /** True when this recorder may no longer write (see `isAllowed`). */
  get revoked(): boolean {
    return this.options.isAllowed ? !this.options.isAllowed() : false;
  }

  get status(): S {
    return this.options.status;
  }

  /** Applies a change and writes it now. */
  async update(change: Partial<S>): Promise<void> {
    Object.assign(this.options.status, change);
    await this.flush();
  }

  async event(step: string, message: string, change: Partial<S> = {}): Promise<void> {
    const timeline = [...(this.status.timeline ?? []), { time: now(), step, message }];
    await this.update({
      ...change,
      step,
      timeline: timeline.slice(-MAX_TIMELINE),
    } as Partial<S>);
  }

  async condition(condition: Omit<Condition, 'lastTransitionTime'>): Promise<void> {
    const others = (this.status.conditions ?? []).filter(c => c.type !== condition.type);
    const previous = this.status.conditions?.find(c => c.type === condition.type);
    const lastTransitionTime =
      previous && previous.status === condition.status ? previous.lastTransitionTime : now();
    await this.update({
      conditions: [...others, { ...condition, lastTransitionTime }],
    } as Partial<S>);
  }

  async fail(failure: OperationFailure): Promise<void> {
    const failures = [...(this.status.failures ?? []), failure];
    await this.update({ failures } as Partial<S>);
  }

  /** Changes one volume's entry; written now when its phase changes, else within a second. */
  async volume(pvc: string, change: Partial<VolumeStatus>): Promise<void> {
    const volumes = [...(this.status.volumes ?? [])];
    const index = volumes.findIndex(v => v.pvc === pvc);
    const before = index >= 0 ? volumes[index] : ({ pvc, phase: 'Pending' } as VolumeStatus);
    const after = { ...before, ...change };
    if (index >= 0) volumes[index] = after;
    else volumes.push(after);
    Object.assign(this.options.status, { volumes, progress: describeProgress(volumes) });
    if (before.phase !== after.phase || index < 0) {
      await this.flush();
    } else {
      this.scheduleFlush();
    }
  }

  /** Waits for every pending write. */
  async close(): Promise<void> {
    if (this.pendingTimer) {
      clearTimeout(this.pendingTimer);
      this.pendingTimer = undefined;
      await this.flush();
    }
    await this.writing;
  }

  private scheduleFlush() {
    if (this.pendingTimer) return;
    const wait = Math.max(0, this.lastWrite + PROGRESS_INTERVAL_MS - Date.now());
    this.pendingTimer = setTimeout(() => {
      this.pendingTimer = undefined;
      this.flush().catch(() => {
        // the next write carries the same state; a lost progress write is harmless
      });
    }, wait);
  }

  /**
   * Writes the status as it is when the write starts. Writes are serialised so that an older state
   * never lands after a newer one, and coalesced: a change made while a write is in flight joins
   * the one queued behind it (it snapshots the status when it starts), so volumes running side by
   * side wait for one write instead of one each.
   */
  private flush(): Promise<void> {
    if (this.queued) return this.queued;
    const write = this.writing
      .catch(() => undefined)
      .then(async () => {
        this.queued = undefined;
        if (this.revoked) {
          throw new LostLeadershipError(this.options.name);
        }
        this.lastWrite = Date.now();
        const snapshot = structuredClone(this.options.status);
        await this.options.api.patchNamespacedCustomObjectStatus(
          {
            group: FERRY_GROUP,
            version: FERRY_VERSION,
            plural: this.options.plural,
            namespace: this.options.namespace,
            name: this.options.name,
            body: { status: snapshot },
          },
          mergePatch,
        );
        await this.options.onWrite?.(snapshot);
      });
    this.queued = write;
    this.writing = write;
    return write;
  }
}

function now(): string {
  return new Date().toISOString();
}

/** "2/3 volumes, 45%": what `kubectl get backups` shows in its Progress column. */
export function describeProgress(volumes: VolumeStatus[]): string {
  if (volumes.length === 0) return '';
  const done = volumes.filter(v => v.phase === 'Completed').length;
  const total = volumes.reduce((sum, v) => sum + (v.bytesTotal ?? 0), 0);
  const moved = volumes.reduce((sum, v) => sum + Math.min(v.bytesDone ?? 0, v.bytesTotal ?? 0), 0);
  const percent = total > 0 ? Math.floor((moved / total) * 100) : 0;
  return `${done}/${volumes.length} volumes, ${percent}%`;
}
