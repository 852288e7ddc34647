import { InputError, NotAllowedError } from '@backstage/errors';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DiscoveredTypes } from '../kubernetes/discoverResourceTypes';
import { mayWriteInto, RestoreGrants } from './RestoreGrants';

type Subject = { kind?: string; name?: string; namespace?: string };

/**
 * The last check before a restore writes anything (DESIGN §8), on the objects as they will be
 * applied, after every transform: `restored[i]` is `backedUp[i]` transformed.
 *
 * - An object keeps its API group, kind and name, and goes to the namespace the mapping gives
 *   its backed-up namespace (so a restore creates only kinds present in the backup).
 * - Every namespace written into is one the grants allow.
 * - Cluster-scoped objects need privileged grants.
 * - A binding whose subjects' namespaces the mapping changed grants rights to other accounts:
 *   those namespaces must be allowed too.
 *
 * Returns the namespaces written into and how many objects are cluster-scoped; throws
 * InputError (400) or NotAllowedError (403).
 */
export function checkRestoredObjects(options: {
  backedUp: readonly KubernetesObject[];
  restored: readonly KubernetesObject[];
  /** Where each backed-up namespace goes (`namespaceMapping`). */
  mapping: Record<string, string>;
  types: DiscoveredTypes;
  grants: RestoreGrants;
}): { namespaces: Set<string>; clusterScoped: number } {
  const { backedUp, restored, mapping, grants } = options;
  if (backedUp.length !== restored.length) {
    throw new InputError(`transforms changed the number of objects (${backedUp.length} backed up, ${restored.length} to restore)`);
  }
  const written = new Set<string>();
  let clusterScoped = 0;
  for (const [index, after] of restored.entries()) {
    const before = backedUp[index];
    const label = `${before.kind} ${before.metadata?.namespace ? `${before.metadata.namespace}/` : ''}${before.metadata?.name}`;
    if (
      groupOf(after.apiVersion) !== groupOf(before.apiVersion) ||
      after.kind !== before.kind ||
      after.metadata?.name !== before.metadata?.name
    ) {
      throw new InputError(`transforms may not change the API group, kind or name of ${label}`);
    }
    const type = options.types.lookup(after.apiVersion ?? '', after.kind ?? '');
    const namespaced = type ? type.namespaced : before.metadata?.namespace !== undefined;
    if (!namespaced) {
      if (!grants.privileged) {
        throw new NotAllowedError(`restoring the cluster-scoped ${label} ${grants.privilegeRule}`);
      }
      clusterScoped++;
      continue;
    }
    const from = before.metadata?.namespace;
    const to = after.metadata?.namespace;
    if (!from || !to) throw new InputError(`${label} has no namespace`);
    const expected = mapping[from] ?? from;
    if (to !== expected) {
      throw new InputError(`transforms may not move ${label} to namespace ${to} (the mapping sends it to ${expected})`);
    }
    if (!mayWriteInto(grants, to)) {
      throw new NotAllowedError(`restoring ${label} into namespace ${to} ${grants.namespaceRule}`);
    }
    written.add(to);
    checkSubjects({ before, after, label, grants });
  }
  return { namespaces: written, clusterScoped };
}

function checkSubjects(options: { before: KubernetesObject; after: KubernetesObject; label: string; grants: RestoreGrants }) {
  const subjects = (o: KubernetesObject) => ((o as { subjects?: Subject[] }).subjects ?? []);
  const before = subjects(options.before);
  for (const [i, subject] of subjects(options.after).entries()) {
    const moved = subject.namespace !== undefined && subject.namespace !== before[i]?.namespace;
    if (moved && !mayWriteInto(options.grants, subject.namespace!)) {
      throw new NotAllowedError(
        `restoring ${options.label} would grant rights to ${subject.kind} ${subject.namespace}/${subject.name}: namespace ${subject.namespace} ${options.grants.namespaceRule}`,
      );
    }
  }
}

function groupOf(apiVersion: string | undefined): string {
  const parts = (apiVersion ?? '').split('/');
  return parts.length === 2 ? parts[0] : '';
}
