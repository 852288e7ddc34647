import type { JsonPatchOperation } from '@ferry/plugin-backup-common';

/**
 * Which parts of a backed-up object a restore's JSON patches may touch (DESIGN §8).
 *
 * - **identity**: what an object is and where it goes — `apiVersion`, `kind`, `metadata.name`,
 *   `metadata.namespace` (and the whole document or the whole `metadata`). Never patched: the
 *   namespace changes only through the restore's namespace and `namespaceMap`, which are
 *   authorised on their own.
 * - **owner**: what a service owner may change in their own application: labels and annotations,
 *   replicas, a container's image, command, args, env and resources, pod template labels and
 *   annotations, a claim's storage class and size, the data of ConfigMaps and Secrets.
 * - **privileged**: everything else, which may widen privileges (securityContext, hostPath,
 *   hostNetwork, serviceAccountName, volumes, a whole container, any RBAC object ...): needs the
 *   `backup.restore.privileged` permission.
 */
export type PatchClass = 'identity' | 'owner' | 'privileged';

/** Kinds whose every change is privileged: they grant rights. */
export const RBAC_KINDS = new Set(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

const ANY = '*';
const REST = '**';

/** Where a kind keeps its pod template's spec. */
const POD_SPEC_PATHS: Record<string, string[][]> = {
  Pod: [['spec']],
  Deployment: [['spec', 'template', 'spec']],
  StatefulSet: [['spec', 'template', 'spec']],
  DaemonSet: [['spec', 'template', 'spec']],
  ReplicaSet: [['spec', 'template', 'spec']],
  ReplicationController: [['spec', 'template', 'spec']],
  Job: [['spec', 'template', 'spec']],
  CronJob: [['spec', 'jobTemplate', 'spec', 'template', 'spec']],
};

const CONTAINER_FIELDS = ['image', 'command', 'args', 'env', 'envFrom', 'resources', 'imagePullPolicy'];

/** Path patterns (segments; `*` one segment, `**` at the end any rest) a service owner may patch. */
function ownerPatterns(kind: string): string[][] {
  if (RBAC_KINDS.has(kind)) return [];
  const patterns: string[][] = [
    ['metadata', 'labels', REST],
    ['metadata', 'annotations', REST],
  ];
  for (const podSpec of POD_SPEC_PATHS[kind] ?? []) {
    const template = podSpec.slice(0, -1);
    if (kind !== 'Pod') {
      patterns.push([...template, 'metadata', 'labels', REST], [...template, 'metadata', 'annotations', REST]);
    }
    for (const containers of ['containers', 'initContainers']) {
      for (const field of CONTAINER_FIELDS) patterns.push([...podSpec, containers, ANY, field, REST]);
    }
  }
  if (['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'].includes(kind)) {
    patterns.push(['spec', 'replicas']);
  }
  if (kind === 'PersistentVolumeClaim') {
    patterns.push(['spec', 'storageClassName'], ['spec', 'resources', REST]);
  }
  if (kind === 'StatefulSet') {
    patterns.push(
      ['spec', 'volumeClaimTemplates', ANY, 'spec', 'storageClassName'],
      ['spec', 'volumeClaimTemplates', ANY, 'spec', 'resources', REST],
    );
  }
  if (kind === 'ConfigMap') patterns.push(['data', REST], ['binaryData', REST]);
  if (kind === 'Secret') patterns.push(['data', REST], ['stringData', REST]);
  return patterns;
}

const IDENTITY_PATHS = [['apiVersion'], ['kind'], ['metadata', 'name'], ['metadata', 'namespace']];

/** The segments of an RFC 6901 JSON pointer (`""` is the whole document: no segment). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function matches(pattern: string[], segments: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === REST) return true;
    if (i >= segments.length) return false;
    if (pattern[i] !== ANY && pattern[i] !== segments[i]) return false;
  }
  return pattern.length === segments.length;
}

/** True when a change at `segments` changes (part of) an identity field, or replaces one wholesale. */
function touchesIdentity(segments: string[]): boolean {
  return IDENTITY_PATHS.some(identity => {
    const n = Math.min(identity.length, segments.length);
    return identity.slice(0, n).every((s, i) => s === segments[i]);
  });
}

/** The class of a change of `pointer` in an object of `kind`. */
export function classifyPath(kind: string, pointer: string): PatchClass {
  const segments = pointerSegments(pointer);
  if (touchesIdentity(segments)) return 'identity';
  return ownerPatterns(kind).some(p => matches(p, segments)) ? 'owner' : 'privileged';
}

/**
 * The class of one JSON patch operation on an object of `kind`: the strictest of the places it
 * changes (`move` changes both its source and its destination; `test` changes nothing).
 */
export function classifyOperation(kind: string, operation: JsonPatchOperation): PatchClass {
  if (operation.op === 'test') return 'owner';
  const changed = [operation.path];
  if (operation.op === 'move' && operation.from !== undefined) changed.push(operation.from);
  const classes = changed.map(p => classifyPath(kind, p));
  if (classes.includes('identity')) return 'identity';
  return classes.includes('privileged') ? 'privileged' : 'owner';
}
