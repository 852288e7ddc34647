import { isTerminalPhase, OperationPhase } from '@ferry/plugin-backup-common';
import { useCallback, useEffect, useState } from 'react';
import type { StreamOptions } from '../api/BackupApi';

/** How a running operation is being followed. */
export type LiveMode = 'stream' | 'polling' | 'idle';

export interface LiveOperation<T> {
  value?: T;
  error?: Error;
  loading: boolean;
  mode: LiveMode;
  reload: () => void;
}

export interface UseLiveOperationOptions<T> {
  /** Fetches the current state (GET …/:id). */
  load: () => Promise<T>;
  /** Follows server-sent `progress` events until `end` (GET …/:id/events). */
  stream: (options: StreamOptions<T>) => Promise<void>;
  /** Re-runs everything when it changes, e.g. the operation's id. */
  key: string;
  /** Polling period when the stream fails. */
  pollIntervalMs?: number;
}

/**
 * The state of a backup or restore, live while it runs: loads it, follows its event stream and,
 * when the stream fails (proxy buffering, connection reset), polls every two seconds instead.
 */
export function useLiveOperation<T extends { phase: OperationPhase }>(
  options: UseLiveOperationOptions<T>,
): LiveOperation<T> {
  const { load, stream, key, pollIntervalMs = 2000 } = options;
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<Error>();
  const [mode, setMode] = useState<LiveMode>('idle');
  const [attempt, setAttempt] = useState(0);
  const reload = useCallback(() => setAttempt(n => n + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setError(undefined);

    const show = (next: T) => {
      if (!signal.aborted) setValue(next);
    };
    const poll = async () => {
      if (signal.aborted) return;
      try {
        const next = await load();
        show(next);
        if (isTerminalPhase(next.phase)) {
          if (!signal.aborted) setMode('idle');
          return;
        }
      } catch (e) {
        // A failed poll keeps the last known state; the next one may succeed.
      }
      if (!signal.aborted) timer = setTimeout(poll, pollIntervalMs);
    };

    (async () => {
      let current: T;
      try {
        current = await load();
      } catch (e) {
        if (!signal.aborted) setError(e as Error);
        return;
      }
      show(current);
      if (isTerminalPhase(current.phase) || signal.aborted) return;
      setMode('stream');
      try {
        await stream({ onProgress: show, signal });
        if (signal.aborted) return;
        // The last progress event may predate the final status: read it once more.
        const last = await load();
        show(last);
        if (signal.aborted) return;
        if (isTerminalPhase(last.phase)) {
          setMode('idle');
          return;
        }
        // The stream ended early (a restart, a proxy): keep following by polling.
        setMode('polling');
        timer = setTimeout(poll, pollIntervalMs);
      } catch (e) {
        if (signal.aborted) return;
        setMode('polling');
        timer = setTimeout(poll, pollIntervalMs);
      }
    })();

    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
    // load/stream are recreated on each render; key and attempt name what they fetch.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, attempt, pollIntervalMs]);

  return { value, error, loading: value === undefined && !error, mode, reload };
}
