import type { KubernetesObject } from '@kubernetes/client-node';
import { gzipSync } from 'node:zlib';
import { decodeHelmReleaseSecret } from '../mapping/helmRelease';
import { rewriteHelmReleaseSecret } from './helmReleaseRewrite';
import { matchesLabelSelector } from './matchLabelSelector';
import { restoreOrder } from './restoreOrder';
import { TransformError, transformObjects, transformProblems } from './restoreTransforms';

function helmSecret(namespace: string): KubernetesObject & { type: string; data: Record<string, string> } {
  const manifest = `---\n# Source: demo/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ${namespace}\n---\n# Source: demo/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n`;
  const record = { name: 'demo', namespace, version: 1, info: { status: 'deployed' }, manifest, config: { a: 1 } };
  const helm = gzipSync(Buffer.from(JSON.stringify(record))).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: { name: 'sh.helm.release.v1.demo.v1', namespace, labels: { owner: 'helm', name: 'demo' } },
    data: { release: Buffer.from(helm).toString('base64') },
  };
}

const claim = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'demo', labels: { app: 'db', team: 'a' }, annotations: { note: 'x', keep: 'y' } },
  spec: { storageClassName: 'fast', volumeMode: 'Filesystem' },
};
const statefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db', namespace: 'demo', labels: { app: 'db' } },
  spec: { replicas: 2, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'fast' } }] },
};
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'demo', labels: { app: 'web' } },
  spec: { replicas: 1 },
};

describe('transformObjects', () => {
  it('maps namespaces and storage classes, omits labels and annotations, leaves the input alone', () => {
    const input = [claim, statefulSet, deployment] as KubernetesObject[];
    const before = JSON.stringify(input);
    const out = transformObjects({
      objects: input,
      sourceNamespace: 'demo',
      namespace: 'demo-restored',
      spec: { omitLabels: ['team'], omitAnnotations: ['note'], transforms: { storageClassMap: { fast: 'slow' } } },
    }) as any[];
    expect(JSON.stringify(input)).toBe(before);
    expect(out.map(o => o.metadata.namespace)).toEqual(['demo-restored', 'demo-restored', 'demo-restored']);
    expect(out[0].spec.storageClassName).toBe('slow');
    expect(out[0].metadata.labels).toEqual({ app: 'db' });
    expect(out[0].metadata.annotations).toEqual({ keep: 'y' });
    expect(out[1].spec.volumeClaimTemplates[0].spec.storageClassName).toBe('slow');
  });

  it('applies JSON patches only to the objects they select', () => {
    const out = transformObjects({
      objects: [statefulSet, deployment] as KubernetesObject[],
      sourceNamespace: 'demo',
      namespace: 'demo',
      spec: {
        transforms: {
          patches: [
            { target: { kind: 'Deployment', name: 'web' }, operations: [{ op: 'replace', path: '/spec/replicas', value: 3 }] },
            { target: { kind: 'StatefulSet', labelSelector: 'app in (db)' }, operations: [{ op: 'add', path: '/metadata/labels/restored', value: 'yes' }] },
            { target: { kind: 'Deployment', labelSelector: 'app=other' }, operations: [{ op: 'remove', path: '/spec' }] },
          ],
        },
      },
    }) as any[];
    expect(out[1].spec.replicas).toBe(3);
    expect(out[0].metadata.labels.restored).toBe('yes');
    expect(out[0].spec.replicas).toBe(2);
  });

  it('names the patch and the object when a patch does not apply', () => {
    const run = () =>
      transformObjects({
        objects: [deployment] as KubernetesObject[],
        sourceNamespace: 'demo',
        namespace: 'demo',
        spec: { transforms: { patches: [{ target: { kind: 'Deployment' }, operations: [{ op: 'replace', path: '/spec/missing/x', value: 1 }] }] } },
      });
    expect(run).toThrow(TransformError);
    expect(run).toThrow(/transforms\.patches\.0 cannot be applied to Deployment web/);
  });

  it('rewrites Helm release Secrets moved to another namespace', () => {
    const [secret] = transformObjects({
      objects: [helmSecret('demo')],
      sourceNamespace: 'demo',
      namespace: 'demo-restored',
      spec: {},
    }) as Array<KubernetesObject & { data?: Record<string, string> }>;
    expect(secret.metadata?.namespace).toBe('demo-restored');
    const release = decodeHelmReleaseSecret(secret) as unknown as Record<string, unknown>;
    expect(release).toEqual(expect.objectContaining({ name: 'demo', namespace: 'demo-restored', version: 1, config: { a: 1 } }));
    expect(release.manifest).toContain('# Source: demo/templates/a.yaml');
    expect(release.manifest).toMatch(/name: a\n {2}namespace: demo-restored\n/);
    expect(release.manifest).not.toMatch(/namespace: demo\n/);
  });

  it("maps Helm's release-namespace ownership annotation", () => {
    const [object] = transformObjects({
      objects: [{ ...deployment, metadata: { ...deployment.metadata, annotations: { 'meta.helm.sh/release-namespace': 'demo' } } }],
      sourceNamespace: 'demo',
      namespace: 'demo-restored',
      spec: {},
    });
    expect(object.metadata?.annotations).toEqual({ 'meta.helm.sh/release-namespace': 'demo-restored' });
  });
});

describe('transformProblems', () => {
  it('names malformed patches and selectors by field', () => {
    expect(transformProblems({ patches: [{ target: { kind: 'X' }, operations: [{ op: 'replace', path: '/a', value: 1 }] }] })).toEqual([]);
    const problems = transformProblems({
      patches: [
        { target: { kind: 'X' }, operations: [{ op: 'add', path: '/a', value: 1 }, { op: 'replace', path: 'no-slash', value: 1 }] },
        { target: { kind: 'X', labelSelector: 'a in (' }, operations: [] },
      ],
    });
    expect(problems[0]).toMatch(/^transforms\.patches\.0\.operations\.1: /);
    expect(problems[1]).toMatch(/^transforms\.patches\.1\.target\.labelSelector: /);
  });
});

describe('rewriteHelmReleaseSecret', () => {
  it('stores base64(gzip(json)) inside the Secret data, as Helm does', () => {
    const secret = rewriteHelmReleaseSecret(helmSecret('demo'), 'other');
    const helmValue = Buffer.from(secret.data.release, 'base64').toString('utf8');
    const gz = Buffer.from(helmValue, 'base64');
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect(secret.metadata?.labels).toEqual({ owner: 'helm', name: 'demo' });
  });
});

describe('restoreOrder', () => {
  it('puts namespaces, identities, configuration and claims before services and workloads', () => {
    const objects = ['Deployment', 'Widget', 'Service', 'PersistentVolumeClaim', 'ConfigMap', 'Secret', 'ServiceAccount', 'Namespace', 'StatefulSet'].map(
      kind => ({ kind, metadata: { name: kind.toLowerCase() } }),
    );
    expect(restoreOrder(objects).map(o => o.kind)).toEqual([
      'Namespace', 'ServiceAccount', 'Secret', 'ConfigMap', 'PersistentVolumeClaim', 'Service', 'Deployment', 'StatefulSet', 'Widget',
    ]);
  });
});

describe('matchesLabelSelector', () => {
  it('decides equality, inequality, existence and set requirements', () => {
    const labels = { app: 'db', tier: 'data' };
    expect(matchesLabelSelector('app=db,tier==data', labels)).toBe(true);
    expect(matchesLabelSelector('app!=db', labels)).toBe(false);
    expect(matchesLabelSelector('app,!missing', labels)).toBe(true);
    expect(matchesLabelSelector('tier notin (web, cache)', labels)).toBe(true);
    expect(matchesLabelSelector('app in (web)', labels)).toBe(false);
    expect(() => matchesLabelSelector('=x', labels)).toThrow(/label selector/);
  });
});
