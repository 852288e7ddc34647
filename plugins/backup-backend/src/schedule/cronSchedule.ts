import { CronTime } from 'cron';

/**
 * Why a cron expression cannot be a schedule, or undefined when it can. Uses the `cron` library
 * that Backstage's scheduler parses `frequency: { cron }` with, so what passes here also passes
 * there (5 fields, or 6 with seconds first).
 */
export function cronProblem(expression: string): string | undefined {
  if (!expression.trim()) {
    return 'is empty: expected a cron expression such as "0 2 * * *"';
  }
  try {
    // eslint-disable-next-line no-new
    new CronTime(expression);
    return undefined;
  } catch (error) {
    return `'${expression}' is not a valid cron expression (${(error as Error).message})`;
  }
}

/**
 * The next time a cron expression fires after `from` (default now), as an ISO string, in the
 * backend's time zone like Backstage's scheduler; undefined for an invalid expression.
 */
export function nextRunOf(expression: string, from: Date = new Date()): string | undefined {
  if (cronProblem(expression)) return undefined;
  return new CronTime(expression).getNextDateFrom(from).toUTC().toISO() ?? undefined;
}
