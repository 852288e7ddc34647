import { Watch } from '@kubernetes/client-node';
import type { KubeClients } from './KubeClients';

/** A collection to watch: its API path and selectors (`labelSelector`, `fieldSelector`). */
export interface WatchTarget {
  path: string;
  query?: Record<string, string>;
}

/** Wake-ups from watches: `next()` resolves at the next event of any of them. */
export interface Changes {
  next: () => Promise<void>;
  stop: () => void;
}

/**
 * Watches of `targets` whose events wake `next()`, so a waiting loop sees a change at once
 * instead of at its next poll. Best effort: where a watch is not allowed or fails, it never wakes
 * and the caller's poll goes on (the poll stays the loop's fallback).
 */
export function watchChanges(kube: KubeClients, ...targets: WatchTarget[]): Changes {
  const wakeUp = wakeUps();
  const state = { stopped: false, controllers: [] as AbortController[] };
  const open = (target: WatchTarget) =>
    Promise.resolve()
      .then(() => new Watch(kube.kubeConfig).watch(target.path, target.query ?? {}, wakeUp.fire, () => undefined))
      .then(
        controller => {
          state.controllers.push(controller);
          if (state.stopped) controller.abort();
        },
        () => undefined, // no watch: polling goes on
      );
  targets.forEach(open);
  return {
    next: wakeUp.next,
    stop: () => {
      state.stopped = true;
      for (const controller of state.controllers) controller.abort();
    },
  };
}

/** A promise that resolves at the next `fire()` (then a new one is armed). */
export function wakeUps() {
  let wake: (() => void) | undefined;
  let next: Promise<void> = new Promise(resolve => (wake = resolve));
  return {
    next: () => next,
    fire: () => {
      const resolve = wake;
      next = new Promise(r => (wake = r));
      resolve?.();
    },
  };
}
