import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectChange } from '@ferry/plugin-backup-common';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import type { DiscoveredTypes } from '../kubernetes/discoverResourceTypes';
import { cleanObject } from '../mapping/cleanObject';
import { apiReason, FIELD_MANAGER, locate, refOf } from '../pipeline/applyRestoreObjects';
import { isNotFound, KubeClients } from '../pipeline/KubeClients';
import { restoreOrder } from '../pipeline/restoreOrder';

/** Claims whose data the restore hydrates: an existing one is left alone (its data kept). */
export interface DryRunOptions {
  kube: KubeClients;
  /** Who previews a server-side apply of an object into a namespace (the restorer there). */
  previewIn: (namespace: string) => Promise<KubeClients>;
  types: DiscoveredTypes;
  objects: KubernetesObject[];
  existing: 'skip' | 'patch';
  restoredClaims: Set<string>;
}

/**
 * What applying the restored objects would do to each (DESIGN §4 step 1), without writing: an
 * absent object is created (diff against nothing); an existing one is skipped or, with
 * `existing: patch`, server-side applied — asked of the API server itself with `dryRun=All`, so
 * the diff shows exactly what the patch would change. Diffs are unified, of clean YAML.
 */
export async function planObjectChanges(options: DryRunOptions): Promise<ObjectChange[]> {
  const { json } = options.kube;
  const changes: ObjectChange[] = [];
  for (const object of restoreOrder(options.objects)) {
    const ref = refOf(object);
    const label = `${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    const location = locate(options.types, object);
    if ('problem' in location) {
      changes.push({ ...ref, action: 'skip', reason: location.problem });
      continue;
    }
    const live = await json.get<KubernetesObject>(location.path).catch(error =>
      isNotFound(error) ? undefined : Promise.reject(error),
    );
    const restored = yamlOf(object);
    if (!live) {
      changes.push({ ...ref, action: 'create', diff: unifiedDiff(label, '', restored) });
      continue;
    }
    const current = yamlOf(cleanObject(live));
    const isRestoredClaim =
      object.kind === 'PersistentVolumeClaim' && options.restoredClaims.has(object.metadata?.name ?? '');
    if (options.existing === 'skip' || isRestoredClaim) {
      changes.push({
        ...ref,
        action: 'skip',
        reason: isRestoredClaim ? 'already exists; its data is left as it is' : 'already exists',
        diff: unifiedDiff(label, current, restored),
      });
      continue;
    }
    try {
      // As the restore would apply it: through the restorer, whose rights end at the namespace.
      const previewer = ref.namespace ? (await options.previewIn(ref.namespace)).json : json;
      const applied = await previewer.patch<KubernetesObject>({
        path: location.path,
        body: object,
        type: 'apply',
        query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: 'All' },
      });
      changes.push({ ...ref, action: 'patch', diff: unifiedDiff(label, current, yamlOf(cleanObject(applied))) });
    } catch (error) {
      changes.push({ ...ref, action: 'patch', reason: `the api server refuses the patch: ${apiReason(error)}` });
    }
  }
  return changes;
}

function yamlOf(object: KubernetesObject): string {
  return stringify(object, { sortMapEntries: false });
}

function unifiedDiff(label: string, before: string, after: string): string {
  return createTwoFilesPatch(`live/${label}`, `restored/${label}`, before, after, undefined, undefined, {
    context: 3,
  });
}
