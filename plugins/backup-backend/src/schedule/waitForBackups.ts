import { isError } from '@backstage/errors';
import type { BackupDetail } from '@ferry/plugin-backup-common';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import type { BackupService } from '../service/BackupService';

/** A backup to wait for: its entity and id. */
export interface StartedBackup {
  entityRef: string;
  id: string;
}

export interface WaitResult {
  /** Backups that reached a terminal phase, with their last detail. */
  finished: BackupDetail[];
  /** Still running when the wait ended (limit reached or aborted). */
  unfinished: StartedBackup[];
}

/**
 * Polls the index until every backup has ended, `limitMs` has passed or `signal` aborts. A
 * backup that vanished from the index (deleted meanwhile) is no longer waited for.
 */
export async function waitForBackups(options: {
  backups: Pick<BackupService, 'getBackup'>;
  started: readonly StartedBackup[];
  limitMs: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
}): Promise<WaitResult> {
  const deadline = Date.now() + options.limitMs;
  const finished: BackupDetail[] = [];
  let pending = [...options.started];
  for (;;) {
    const stillRunning: StartedBackup[] = [];
    for (const backup of pending) {
      let detail: BackupDetail | undefined;
      try {
        detail = await options.backups.getBackup(backup);
      } catch (error) {
        if (isError(error) && error.name === 'NotFoundError') continue;
      }
      if (detail && isTerminalPhase(detail.phase)) finished.push(detail);
      else stillRunning.push(backup);
    }
    pending = stillRunning;
    if (pending.length === 0 || options.signal?.aborted || Date.now() >= deadline) {
      return { finished, unfinished: pending };
    }
    await sleep(Math.min(options.pollIntervalMs, Math.max(0, deadline - Date.now())), options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
