import type { z } from 'zod';
import { IntegrityError } from '../errors';

/** Parses JSON bytes of object `key` with a zod schema; problems name the key and the field. */
export function parseJsonObject<T extends z.ZodTypeAny>(
  schema: T,
  key: string,
  bytes: Uint8Array,
): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new IntegrityError(key, 'not valid JSON', { cause: e });
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new IntegrityError(key, `field "${i.path.join('.')}" ${i.message.toLowerCase()}`);
  }
  return r.data;
}
