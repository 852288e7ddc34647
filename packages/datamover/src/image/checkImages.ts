import type { RegistryErrorCode } from '../oci/errors';
import type { RegistryClient } from '../oci/RegistryClient';

export type ImageCheckItem =
  | { reference: string; reachable: true; digest: string; mediaType: string }
  /** `code` is `REGISTRY_<RegistryErrorCode>`, as in the per-image errors of backup and restore. */
  | { reference: string; reachable: false; code: `REGISTRY_${RegistryErrorCode}`; reason: string };

export interface ImageCheckResult {
  type: 'result';
  operation: 'image-check';
  images: ImageCheckItem[];
  reachable: number;
  unreachable: number;
}

/** Whether each image can be pulled (manifest resolves), all at once; never throws per image. */
export async function checkImages(o: { client: RegistryClient; images: string[]; timeoutMs?: number }): Promise<ImageCheckResult> {
  const images = await Promise.all(
    o.images.map(async (reference): Promise<ImageCheckItem> => {
      const r = await o.client.reachable(reference, { timeoutMs: o.timeoutMs });
      return r.reachable ? { reference, ...r } : { reference, reachable: false, code: `REGISTRY_${r.code}`, reason: r.reason };
    }),
  );
  const reachable = images.filter(i => i.reachable).length;
  return { type: 'result', operation: 'image-check', images, reachable, unreachable: images.length - reachable };
}
