export type WaitForOptions = {
  /** What is awaited, for the error message. */
  description: string;
  timeoutMs?: number;
  intervalMs?: number;
};

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after the timeout
 * with an error naming what was awaited and the last error seen.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out waiting for ${options.description}${detail}`);
    }
    await new Promise(resolve => setTimeout(resolve, interval));
  }
}
