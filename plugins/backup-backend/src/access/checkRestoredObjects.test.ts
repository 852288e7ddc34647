import { InputError, NotAllowedError } from '@backstage/errors';
import type { KubernetesObject } from '@kubernetes/client-node';
import fc from 'fast-check';
import type { DiscoveredTypes } from '../kubernetes/discoverResourceTypes';
import { namespaceMapping, TransformError, transformObjects } from '../pipeline/restoreTransforms';
import { checkRestoredObjects } from './checkRestoredObjects';
import { checkTransforms } from './checkTransforms';
import { mayWriteInto, RestoreGrants, resourceGrants, userGrants } from './RestoreGrants';

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'PersistentVolume']);
const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
};

/** Discovery as a cluster that serves the kinds above answers it. */
const types: DiscoveredTypes = {
  namespaced: [],
  warnings: [],
  lookup: (apiVersion, kind) => {
    if (API_VERSIONS[kind] !== apiVersion) return undefined;
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return { group, version, apiVersion, kind, resource: `${kind.toLowerCase()}s`, namespaced: !CLUSTER_SCOPED.has(kind) };
  },
};

const object = (kind: string, name: string, namespace?: string, extra: object = {}): KubernetesObject =>
  ({ apiVersion: API_VERSIONS[kind], kind, metadata: { name, ...(namespace ? { namespace } : {}) }, ...extra }) as KubernetesObject;

function restore(options: {
  objects: KubernetesObject[];
  namespace: string;
  namespaceMap?: Record<string, string>;
  patches?: Array<{ target: { kind: string; name?: string }; operations: never[] }>;
  grants: RestoreGrants;
}) {
  const transforms = { namespaceMap: options.namespaceMap, patches: options.patches };
  checkTransforms(transforms, options.grants);
  const spec = { transforms };
  const restored = transformObjects({ objects: options.objects, sourceNamespace: 'demo', namespace: options.namespace, spec });
  const checked = checkRestoredObjects({
    backedUp: options.objects,
    restored,
    mapping: namespaceMapping({ sourceNamespace: 'demo', namespace: options.namespace, namespaceMap: options.namespaceMap }),
    types,
    grants: options.grants,
  });
  return { restored, checked };
}

const owner = userGrants({ namespace: 'demo', anywhere: false, privileged: false });
const admin = userGrants({ namespace: 'demo', anywhere: true, privileged: true });
const app = [object('ConfigMap', 'demo-config', 'demo', { data: { a: '1' } }), object('Deployment', 'demo-web', 'demo')];

/**
 * What a restore with these inputs would do wrong: an untyped refusal, or an object that keeps
 * less than its kind and name, lands outside the granted namespaces, is cluster-scoped without
 * privilege, or grants rights to an account in a namespace the grants do not allow.
 */
function violations(input: {
  objects: KubernetesObject[];
  namespaceMap: Record<string, string>;
  patches: Array<{ kind: string; operations: unknown[] }>;
  namespace: string;
  grants: RestoreGrants;
}): string[] {
  const { objects, grants } = input;
  // The API refuses a request namespace outside the grants before anything else.
  if (!mayWriteInto(grants, input.namespace)) return [];
  let result;
  try {
    result = restore({
      objects,
      namespace: input.namespace,
      namespaceMap: input.namespaceMap,
      patches: input.patches.map(p => ({ target: { kind: p.kind }, operations: p.operations as never[] })),
      grants,
    });
  } catch (error) {
    const typed = error instanceof InputError || error instanceof NotAllowedError || error instanceof TransformError;
    return typed ? [] : [`untyped refusal: ${error}`];
  }
  const problems: string[] = [];
  for (const [index, restored] of result.restored.entries()) {
    const original = objects[index];
    const label = `${original.kind} ${original.metadata?.name}`;
    if (restored.kind !== original.kind || restored.metadata?.name !== original.metadata?.name) problems.push(`${label} changed identity`);
    if (CLUSTER_SCOPED.has(restored.kind!)) {
      if (!grants.privileged) problems.push(`${label} is cluster-scoped without privilege`);
      continue;
    }
    if (!mayWriteInto(grants, restored.metadata?.namespace ?? '')) problems.push(`${label} lands in ${restored.metadata?.namespace}`);
    const before = (original as { subjects?: Array<{ namespace: string }> }).subjects ?? [];
    for (const subject of (restored as { subjects?: Array<{ namespace: string }> }).subjects ?? []) {
      if (!before.some(o => o.namespace === subject.namespace) && !mayWriteInto(grants, subject.namespace)) {
        problems.push(`${label} grants rights in ${subject.namespace}`);
      }
    }
  }
  return problems;
}

describe('checkRestoredObjects', () => {
  it('lets an owner restore their application into its own namespace and says where it writes', () => {
    const { checked } = restore({ objects: app, namespace: 'demo', grants: owner });
    expect([...checked.namespaces]).toEqual(['demo']);
    expect(checked.clusterScoped).toBe(0);
  });

  it('refuses a namespace map that sends an owner\'s objects elsewhere (the reported hole)', () => {
    // checkTransforms refuses it first; the final check refuses it on its own too.
    const restored = transformObjects({
      objects: app,
      sourceNamespace: 'demo',
      namespace: 'demo',
      spec: { transforms: { namespaceMap: { demo: 'kube-system' } } },
    });
    expect(() =>
      checkRestoredObjects({ backedUp: app, restored, mapping: { demo: 'kube-system' }, types, grants: owner }),
    ).toThrow(new NotAllowedError('restoring ConfigMap demo/demo-config into namespace kube-system needs the backup.restore.anywhere permission'));
  });

  it('refuses an object whose kind or name a patch changed, even for an administrator', () => {
    const restored = app.map(o => ({ ...o, kind: o.kind === 'ConfigMap' ? 'ClusterRoleBinding' : o.kind }));
    expect(() => checkRestoredObjects({ backedUp: app, restored, mapping: {}, types, grants: admin })).toThrow(InputError);
    const renamed = app.map(o => ({ ...o, metadata: { ...o.metadata, name: 'other' } }));
    expect(() => checkRestoredObjects({ backedUp: app, restored: renamed, mapping: {}, types, grants: admin })).toThrow(
      /may not change the API group, kind or name of ConfigMap demo\/demo-config/,
    );
  });

  it('refuses cluster-scoped objects without privileged grants', () => {
    const objects = [...app, object('ClusterRole', 'reader')];
    expect(() => restore({ objects, namespace: 'demo', grants: owner })).toThrow(
      /^restoring the cluster-scoped ClusterRole reader needs the backup\.restore\.privileged permission$/,
    );
    expect(restore({ objects, namespace: 'demo', grants: admin }).checked.clusterScoped).toBe(1);
  });

  it('refuses a binding whose subjects the namespace map moves to an account elsewhere', () => {
    const binding = object('RoleBinding', 'readers', 'demo', {
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'other' }],
    });
    const grants = resourceGrants({ resourceNamespace: 'demo', ferryNamespace: 'ferry-system' });
    const restored = transformObjects({
      objects: [binding],
      sourceNamespace: 'demo',
      namespace: 'demo',
      spec: { transforms: { namespaceMap: { other: 'kube-system' } } },
    });
    expect(() =>
      checkRestoredObjects({ backedUp: [binding], restored, mapping: { demo: 'demo', other: 'kube-system' }, types, grants }),
    ).toThrow(/would grant rights to ServiceAccount kube-system\/default/);
  });

  it('never lets an object land outside the granted namespaces, whatever the transforms (property)', () => {
    const namespaces = ['demo', 'other', 'kube-system', 'ferry-system'];
    const kinds = Object.keys(API_VERSIONS);
    const paths = [
      '',
      '/kind',
      '/apiVersion',
      '/metadata',
      '/metadata/namespace',
      '/metadata/name',
      '/metadata/labels/x',
      '/data/x',
      '/spec/replicas',
      '/spec/template/spec/hostNetwork',
      '/subjects/0/namespace',
    ];
    const objectArb = fc.record({
      kind: fc.constantFrom(...kinds),
      name: fc.constantFrom('a', 'b', 'demo-config'),
      namespace: fc.constantFrom('demo', 'other'),
    });
    const operationArb = fc.record({
      op: fc.constantFrom('add', 'replace', 'remove', 'move', 'copy', 'test'),
      path: fc.constantFrom(...paths),
      from: fc.constantFrom(...paths),
      value: fc.constantFrom('kube-system', 'ClusterRoleBinding', 'rbac.authorization.k8s.io/v1', 3, { name: 'x', namespace: 'kube-system' }),
    });
    const grantsArb = fc.constantFrom<RestoreGrants>(
      owner,
      userGrants({ namespace: 'demo', anywhere: false, privileged: true }),
      userGrants({ namespace: 'demo', anywhere: true, privileged: false }),
      resourceGrants({ resourceNamespace: 'demo', ferryNamespace: 'ferry-system' }),
    );
    const run = fc.check(
      fc.property(
        fc.array(objectArb, { minLength: 1, maxLength: 6 }),
        fc.dictionary(fc.constantFrom(...namespaces), fc.constantFrom(...namespaces), { maxKeys: 3 }),
        fc.array(fc.record({ kind: fc.constantFrom(...kinds), operations: fc.array(operationArb, { minLength: 1, maxLength: 3 }) }), {
          maxLength: 3,
        }),
        fc.constantFrom(...namespaces),
        grantsArb,
        (specs, namespaceMap, patches, namespace, grants) => {
          const objects = specs.map(s =>
            object(s.kind, s.name, CLUSTER_SCOPED.has(s.kind) ? undefined : s.namespace, {
              data: { x: '1' },
              spec: { replicas: 1, template: { spec: {} } },
              subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: s.namespace }],
            }),
          );
          return violations({ objects, namespaceMap, patches, namespace, grants }).length === 0;
        },
      ),
      { numRuns: 3000, seed: 18 },
    );
    expect({ failed: run.failed, counterexample: run.counterexample }).toEqual({ failed: false, counterexample: null });
  });
});
