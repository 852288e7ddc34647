import type { KubernetesObject } from '@kubernetes/client-node';
import { podSpecOf } from '../mapping/podImages';

/**
 * DESIGN §4 step 4, image repointing: the containers (init and ephemeral ones too) of every
 * workload that run an image in `moved` run its new reference instead, and, when given, the pull
 * secret of the new registry is added to those pod specs. Returns new objects; the input is
 * left unchanged. Objects that run none of the moved images are returned as they are.
 */
export function repointImages(options: {
  objects: readonly KubernetesObject[];
  /** Original reference (as the pod spec writes it) → reference to run now. */
  moved: ReadonlyMap<string, string>;
  pullSecret?: string;
}): KubernetesObject[] {
  const { moved, pullSecret } = options;
  if (moved.size === 0) return [...options.objects];
  return options.objects.map(original => {
    const spec = podSpecOf(original);
    const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])];
    if (!containers.some(c => c.image && moved.has(c.image))) return original;
    const object = structuredClone(original);
    const copy = podSpecOf(object)!;
    for (const list of [copy.initContainers, copy.containers, copy.ephemeralContainers]) {
      for (const container of list ?? []) {
        const target = container.image && moved.get(container.image);
        if (target) container.image = target;
      }
    }
    if (pullSecret && !(copy.imagePullSecrets ?? []).some(s => s.name === pullSecret)) {
      copy.imagePullSecrets = [...(copy.imagePullSecrets ?? []), { name: pullSecret }];
    }
    return object;
  });
}
