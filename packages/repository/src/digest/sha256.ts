import { createHash } from 'node:crypto';
import { IntegrityError } from '../errors';
import type { ObjectRef } from '../schema/objectRef';

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256:<hex>` of some bytes. */
export function digestOf(data: Uint8Array | string): string {
  return `sha256:${sha256Hex(data)}`;
}

/** Checks bytes read for `ref` against its recorded size and digest. */
export function checkObject(ref: ObjectRef, data: Uint8Array): Uint8Array {
  if (data.length !== ref.size) {
    throw new IntegrityError(ref.key, `size is ${data.length} bytes, the manifest says ${ref.size}`);
  }
  const d = digestOf(data);
  if (d !== ref.digest) {
    throw new IntegrityError(ref.key, `digest is ${d}, the manifest says ${ref.digest}`);
  }
  return data;
}

/**
 * Passes a stream through while hashing it; after the last chunk, throws IntegrityError when
 * size or digest differ from `ref`. Consumers must treat the data as untrusted until the end.
 */
export async function* verifyingStream(
  ref: ObjectRef,
  body: AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    h.update(chunk);
    size += chunk.length;
    if (size > ref.size) {
      throw new IntegrityError(ref.key, `is longer than the ${ref.size} bytes recorded`);
    }
    yield chunk;
  }
  if (size !== ref.size) {
    throw new IntegrityError(ref.key, `size is ${size} bytes, the manifest says ${ref.size}`);
  }
  const d = `sha256:${h.digest('hex')}`;
  if (d !== ref.digest) {
    throw new IntegrityError(ref.key, `digest is ${d}, the manifest says ${ref.digest}`);
  }
}
