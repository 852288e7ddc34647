import type { KubernetesObject } from '@kubernetes/client-node';
import type { Repository } from '@ferry/repository';
import { stringify } from 'yaml';

/** Where an object's YAML goes inside a backup: resources/<group>/<kind>/<name>.yaml. */
export function resourcePath(object: KubernetesObject): string {
  const apiVersion = object.apiVersion ?? 'v1';
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : 'core';
  return `resources/${group}/${object.kind}/${object.metadata?.name}.yaml`;
}

/** Stores every object of the application as clean YAML (DESIGN §3 step 2). */
export async function writeMetadata(options: {
  repository: Repository;
  app: string;
  backupId: string;
  objects: KubernetesObject[];
}): Promise<void> {
  for (const object of options.objects) {
    await options.repository.putBackupObject({
      app: options.app,
      backupId: options.backupId,
      path: resourcePath(object),
      data: Buffer.from(stringify(object), 'utf8'),
    });
  }
}
