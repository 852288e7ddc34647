import { isRegistryError } from '../oci/errors';
import { toDatamoverError } from '../errors';

/** A per-image error: the registry's code (`NOT_FOUND`, `UNREACHABLE` …) or the datamover's. */
export function describeImageError(e: unknown): { code: string; message: string } {
  if (isRegistryError(e)) return { code: `REGISTRY_${e.code}`, message: e.message };
  const d = toDatamoverError(e);
  return { code: d.code, message: d.message };
}
