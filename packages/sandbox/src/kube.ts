import {
  CoreV1Api,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';

/** True for an ApiException (or error body) with the given HTTP status. */
export function hasStatus(error: unknown, code: number): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: number }).code === code;
}

export const isNotFound = (error: unknown) => hasStatus(error, 404);
export const isConflict = (error: unknown) => hasStatus(error, 409);

/** Runs `fn`, mapping a 404 to undefined. */
export async function getOrUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Runs `fn`, ignoring a 404 (already gone). */
export async function ignoreNotFound(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Read-modify-write with retries on 409 Conflict. `mutate` returns false to skip the write. */
export async function updateWithRetry<T>(options: {
  read: () => Promise<T>;
  mutate: (current: T) => boolean | void;
  write: (updated: T) => Promise<unknown>;
}): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = await options.read();
    if (options.mutate(current) === false) return;
    try {
      await options.write(current);
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 10) throw error;
    }
  }
}

export const keyOf = (object: KubernetesObject) =>
  object.metadata?.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : `${object.metadata?.name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export type WatchedResource<T extends KubernetesObject> = {
  /** API path of the collection, e.g. /api/v1/pods. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  fieldSelector?: string;
  /** Called with the key of every added, changed or deleted object, and on every resync. */
  onKey: (key: string) => void;
};

/**
 * List+watch of one resource, restarted after errors, with a periodic resync that re-announces
 * every cached key (so a missed event or a failed side effect is looked at again).
 */
export class ResourceWatch<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopped = false;
  private resync?: NodeJS.Timeout;

  constructor(kubeConfig: KubeConfig, resource: WatchedResource<T>, resyncMs = 5000) {
    this.informer = new ListWatch<T>(
      resource.path,
      new Watch(kubeConfig),
      resource.list,
      false,
      undefined,
      resource.fieldSelector,
    );
    const announce = (object: T) => resource.onKey(keyOf(object));
    this.informer.on('add', announce);
    this.informer.on('update', announce);
    this.informer.on('delete', announce);
    this.informer.on('error', () => {
      if (!this.stopped) setTimeout(() => this.start().catch(() => undefined), 1000);
    });
    this.resync = setInterval(() => {
      for (const object of this.informer.list()) announce(object);
    }, resyncMs);
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.informer.start();
    } catch {
      if (!this.stopped) setTimeout(() => this.start().catch(() => undefined), 1000);
    }
  }

  list(): T[] {
    return [...this.informer.list()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    await this.informer.stop();
  }
}

/** Records a core/v1 Event about an object (best effort: failures are ignored). */
export async function recordEvent(
  core: CoreV1Api,
  options: {
    object: KubernetesObject;
    type: 'Normal' | 'Warning';
    reason: string;
    message: string;
    component: string;
  },
): Promise<void> {
  const { object } = options;
  const namespace = object.metadata?.namespace || 'default';
  const now = new Date();
  try {
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${object.metadata?.name}.`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata?.name,
          namespace: object.metadata?.namespace,
          uid: object.metadata?.uid,
          resourceVersion: object.metadata?.resourceVersion,
        },
        type: options.type,
        reason: options.reason,
        message: options.message,
        source: { component: options.component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: options.component,
        reportingInstance: options.component,
      },
    });
  } catch {
    // Events are informational.
  }
}
