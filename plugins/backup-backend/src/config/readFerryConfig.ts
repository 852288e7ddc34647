import type { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { FerryConfig, ferryConfigSchema } from './FerryConfig';

/**
 * Reads and validates the `ferry` section of app-config. A bad value fails the backend's start
 * with an error naming the field, e.g. `ferry.targets[1].path: Required`.
 */
export function readFerryConfig(config: Config): FerryConfig {
  const raw = config.getOptional('ferry') ?? {};
  const result = ferryConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(issue => {
      const path = issue.path
        .map(part => (typeof part === 'number' ? `[${part}]` : `.${part}`))
        .join('');
      return `ferry${path}: ${issue.message}`;
    });
    throw new InputError(`invalid ferry configuration: ${problems.join('; ')}`);
  }
  return result.data;
}
