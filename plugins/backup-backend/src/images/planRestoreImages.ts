import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { checkImages, credentialsFromDockerConfig, RegistryClient, type DockerConfig } from '@ferry/datamover';
import { ImageStore, type Manifest, type Repository } from '@ferry/repository';
import type { RestoreImagePlan } from '@ferry/plugin-backup-common';
import { podImages } from '../mapping/podImages';
import { dockerConfigOf, mergeDockerConfigs, pullSecretNames } from './registryAccess';

/**
 * DESIGN §4 steps 1 and 3: for each image the restored workloads will run, whether its original
 * can be pulled and, when it cannot, whether the backup holds a copy to push. The check runs from
 * Ferry's backend with the pull secrets the backup itself restores (so with the credentials the
 * workloads will have), each image at once with a short timeout.
 *
 * `action`: `original` (reachable: left as it is), `push` (unreachable, stored, image restore
 * configured), `unavailable` (unreachable and nothing to push: the workloads will not start).
 */
export async function planRestoreImages(options: {
  objects: readonly KubernetesObject[];
  repository: Repository;
  manifest: Manifest;
  imageRestore: boolean;
  insecureRegistries: readonly string[];
  timeoutMs: number;
}): Promise<RestoreImagePlan[]> {
  const images = podImages(options.objects);
  if (images.length === 0) return [];
  const stored = await storedImages(options.repository, options.manifest);
  const client = new RegistryClient({
    credentials: credentialsFromDockerConfig(restoredPullCredentials(options.objects)),
    insecureRegistries: [...options.insecureRegistries],
  });
  const checked = await checkImages({ client, images, timeoutMs: options.timeoutMs });
  return checked.images.map(item => {
    const copy = stored.get(item.reference);
    if (item.reachable) {
      const changed = copy && copy !== item.digest;
      return {
        image: item.reference,
        reachable: true,
        stored: Boolean(copy),
        action: 'original' as const,
        ...(changed
          ? { reason: `the registry now serves ${item.digest} under this name; the backup holds ${copy}` }
          : {}),
      };
    }
    const action = copy && options.imageRestore ? ('push' as const) : ('unavailable' as const);
    const why = !copy
      ? 'the backup holds no copy of it'
      : 'image restore is not configured (imageRestore)';
    return {
      image: item.reference,
      reachable: false,
      stored: Boolean(copy),
      action,
      reason: action === 'push' ? item.reason : `${item.reason}; ${why}`,
    };
  });
}

/** Reference → manifest digest of every image the backup stored (none for older backups). */
async function storedImages(repository: Repository, manifest: Manifest): Promise<Map<string, string>> {
  if (!manifest.images) return new Map();
  const index = await new ImageStore(repository).readIndexRef(manifest.images, {
    app: manifest.app,
    backupId: manifest.backupId,
  });
  return new Map(index.manifests.map(entry => [entry.reference, entry.digest]));
}

/** Registry credentials of the pull secrets among the objects being restored. */
function restoredPullCredentials(objects: readonly KubernetesObject[]): DockerConfig {
  const names = new Set(pullSecretNames(objects));
  const configs = objects
    .filter(o => o.kind === 'Secret' && names.has(o.metadata?.name ?? ''))
    .map(o => dockerConfigOf(o as V1Secret))
    .filter((c): c is DockerConfig => c !== undefined);
  return mergeDockerConfigs(configs);
}
