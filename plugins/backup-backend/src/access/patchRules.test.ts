import { InputError, NotAllowedError } from '@backstage/errors';
import { checkTransforms } from './checkTransforms';
import { classifyOperation, classifyPath, pointerSegments } from './patchRules';
import { resourceGrants, userGrants } from './RestoreGrants';

describe('patch rules', () => {
  it.each([
    ['ConfigMap', '', 'identity'],
    ['ConfigMap', '/kind', 'identity'],
    ['ConfigMap', '/apiVersion', 'identity'],
    ['ConfigMap', '/metadata', 'identity'],
    ['ConfigMap', '/metadata/name', 'identity'],
    ['ConfigMap', '/metadata/namespace', 'identity'],
    ['ConfigMap', '/kind/x', 'identity'],
    ['ConfigMap', '/data/x', 'owner'],
    ['ConfigMap', '/data', 'owner'],
    ['ConfigMap', '/metadata/labels/app', 'owner'],
    ['ConfigMap', '/metadata/annotations/a~1b', 'owner'],
    ['ConfigMap', '/metadata/ownerReferences', 'privileged'],
    ['ConfigMap', '/metadata/finalizers/-', 'privileged'],
    ['Secret', '/stringData/password', 'owner'],
    ['Secret', '/type', 'privileged'],
    ['Deployment', '/spec/replicas', 'owner'],
    ['Deployment', '/spec/template/spec/containers/0/image', 'owner'],
    ['Deployment', '/spec/template/spec/containers/0/env/-', 'owner'],
    ['Deployment', '/spec/template/spec/initContainers/1/resources/limits/cpu', 'owner'],
    ['Deployment', '/spec/template/metadata/labels/tier', 'owner'],
    ['Deployment', '/spec/template/spec/containers/0', 'privileged'],
    ['Deployment', '/spec/template/spec/containers/-', 'privileged'],
    ['Deployment', '/spec/template/spec/containers/0/securityContext', 'privileged'],
    ['Deployment', '/spec/template/spec/containers/0/securityContext/privileged', 'privileged'],
    ['Deployment', '/spec/template/spec/securityContext/runAsUser', 'privileged'],
    ['Deployment', '/spec/template/spec/hostNetwork', 'privileged'],
    ['Deployment', '/spec/template/spec/hostPID', 'privileged'],
    ['Deployment', '/spec/template/spec/serviceAccountName', 'privileged'],
    ['Deployment', '/spec/template/spec/volumes/0/hostPath', 'privileged'],
    ['Deployment', '/spec/template/spec/volumes/-', 'privileged'],
    ['Deployment', '/spec/template/spec/containers/0/volumeMounts/-', 'privileged'],
    ['Deployment', '/spec/selector', 'privileged'],
    ['CronJob', '/spec/jobTemplate/spec/template/spec/containers/0/image', 'owner'],
    ['CronJob', '/spec/jobTemplate/spec/template/spec/hostNetwork', 'privileged'],
    ['Pod', '/spec/containers/0/image', 'owner'],
    ['Pod', '/spec/nodeName', 'privileged'],
    ['StatefulSet', '/spec/volumeClaimTemplates/0/spec/storageClassName', 'owner'],
    ['StatefulSet', '/spec/volumeClaimTemplates/0/spec/resources/requests/storage', 'owner'],
    ['PersistentVolumeClaim', '/spec/storageClassName', 'owner'],
    ['PersistentVolumeClaim', '/spec/volumeName', 'privileged'],
    ['RoleBinding', '/subjects/0/name', 'privileged'],
    ['RoleBinding', '/metadata/labels/x', 'privileged'],
    ['Role', '/rules/-', 'privileged'],
    ['Service', '/spec/type', 'privileged'],
  ])('%s %s is %s', (kind, path, expected) => {
    expect(classifyPath(kind, path)).toBe(expected);
  });

  it('decodes JSON pointer escapes', () => {
    expect(pointerSegments('/metadata/annotations/a~1b~0c')).toEqual(['metadata', 'annotations', 'a/b~c']);
    expect(pointerSegments('')).toEqual([]);
  });

  it('judges a move by its source and destination, and lets tests through', () => {
    expect(classifyOperation('ConfigMap', { op: 'move', from: '/metadata/name', path: '/data/x' })).toBe('identity');
    expect(classifyOperation('ConfigMap', { op: 'move', from: '/data/a', path: '/data/b' })).toBe('owner');
    expect(classifyOperation('ConfigMap', { op: 'copy', from: '/metadata/name', path: '/data/name' })).toBe('owner');
    expect(classifyOperation('ConfigMap', { op: 'test', path: '/kind', value: 'ConfigMap' })).toBe('owner');
  });
});

describe('checkTransforms', () => {
  const owner = userGrants({ namespace: 'demo', anywhere: false, privileged: false });
  const admin = userGrants({ namespace: 'demo', anywhere: true, privileged: true });
  const patch = (kind: string, op: string, path: string, value?: unknown) => ({
    patches: [{ target: { kind }, operations: [{ op, path, value }] as never }],
  });

  it('refuses a change of kind with a 400 naming the operation, whoever asks', () => {
    for (const grants of [owner, admin]) {
      expect(() => checkTransforms(patch('ConfigMap', 'replace', '/kind', 'ClusterRoleBinding'), grants)).toThrow(InputError);
      expect(() => checkTransforms(patch('ConfigMap', 'replace', '/kind', 'ClusterRoleBinding'), grants)).toThrow(
        /^transforms\.patches\.0\.operations\.0: 'replace \/kind' may not change/,
      );
    }
    expect(() => checkTransforms(patch('ConfigMap', 'replace', '', {}), admin)).toThrow(/\(the whole object\)/);
  });

  it('refuses privileged changes to an owner with a 403 naming the permission', () => {
    const hostNetwork = patch('Deployment', 'add', '/spec/template/spec/hostNetwork', true);
    expect(() => checkTransforms(hostNetwork, owner)).toThrow(NotAllowedError);
    expect(() => checkTransforms(hostNetwork, owner)).toThrow(/needs the backup\.restore\.privileged permission/);
    expect(() => checkTransforms(hostNetwork, admin)).not.toThrow();
    expect(() => checkTransforms(patch('Deployment', 'replace', '/spec/replicas', 3), owner)).not.toThrow();
  });

  it('refuses a namespace map into a namespace the grants do not allow', () => {
    expect(() => checkTransforms({ namespaceMap: { demo: 'kube-system' } }, owner)).toThrow(
      /^transforms\.namespaceMap\.demo: restoring into namespace kube-system needs the backup\.restore\.anywhere permission$/,
    );
    expect(() => checkTransforms({ namespaceMap: { demo: 'demo' } }, owner)).not.toThrow();
    expect(() => checkTransforms({ namespaceMap: { demo: 'kube-system' } }, admin)).not.toThrow();
    const resource = resourceGrants({ resourceNamespace: 'thirdparty', ferryNamespace: 'ferry-system' });
    expect(() => checkTransforms({ namespaceMap: { demo: 'kube-system' } }, resource)).toThrow(
      /a Restore in namespace thirdparty: it may only restore into thirdparty/,
    );
  });
});
