import type { KubernetesObject } from '@kubernetes/client-node';
import type { Repository } from '@ferry/repository';
import { parse } from 'yaml';

export type BackupManifest = Awaited<ReturnType<Repository['readManifest']>>;

/**
 * The resources a backup stored as YAML (`resources/<group>/<kind>/<name>.yaml`, DESIGN §5),
 * read back from the repository. Each object is checked against the manifest's digest on read.
 */
export async function readBackupObjects(options: {
  repository: Repository;
  manifest: BackupManifest;
}): Promise<KubernetesObject[]> {
  const { repository, manifest } = options;
  const refs = manifest.objects.filter(ref => /\/resources\/.+\.yaml$/.test(ref.key));
  const objects: KubernetesObject[] = [];
  for (const ref of refs) {
    const bytes = await repository.getVerified(ref);
    const parsed = parse(Buffer.from(bytes).toString('utf8')) as KubernetesObject | null;
    if (!parsed?.kind || !parsed.metadata?.name) {
      throw new Error(`backup object ${ref.key} is not a kubernetes object`);
    }
    objects.push(parsed);
  }
  return objects;
}
