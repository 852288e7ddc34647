import { gzipSync } from 'node:zlib';
import {
  currentRevision,
  decodeHelmRelease,
  decodeHelmReleaseConfigMap,
  decodeHelmReleaseSecret,
  HelmRelease,
  manifestResources,
} from './helmRelease';

const manifest = [
  '---',
  '# Source: shop/templates/configmap.yaml',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: shop-config',
  '---',
  '# Source: shop/templates/empty.yaml',
  '---',
  '# Source: shop/templates/web.yaml',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: shop-web',
  '  namespace: other',
  'spec:',
  '  replicas: 1',
  '---',
  'apiVersion: v1',
  'kind: List',
  'items:',
  '  - apiVersion: v1',
  '    kind: Service',
  '    metadata: { name: shop-web }',
  '',
].join('\n');

function release(version: number, status: string): HelmRelease {
  return { name: 'shop', namespace: 'shop', version, info: { status }, manifest, chart: { metadata: { name: 'shop', version: '1.0.0' } } };
}

/** What Helm's Secret driver stores: base64(gzip(JSON)) as the value, which the API base64-encodes again. */
function helmSecret(value: HelmRelease) {
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(value))).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `sh.helm.release.v1.shop.v${value.version}`, namespace: 'shop' },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(helmEncoded).toString('base64') },
  };
}

describe('helm release records', () => {
  it('decodes a Secret as Helm writes it (gzip, base64 twice)', () => {
    const decoded = decodeHelmReleaseSecret(helmSecret(release(3, 'deployed')));
    expect(decoded).toMatchObject({ name: 'shop', version: 3, info: { status: 'deployed' } });
    expect(decoded.manifest).toBe(manifest);
  });

  it('decodes a ConfigMap record (base64 once) and plain JSON without gzip', () => {
    const value = release(1, 'superseded');
    const configMap = {
      metadata: { name: 'sh.helm.release.v1.shop.v1', namespace: 'shop' },
      data: { release: gzipSync(Buffer.from(JSON.stringify(value))).toString('base64') },
    };
    expect(decodeHelmReleaseConfigMap(configMap).version).toBe(1);
    const plain = Buffer.from(Buffer.from(JSON.stringify(value)).toString('base64'));
    expect(decodeHelmRelease(plain, 'test').info?.status).toBe('superseded');
    expect(decodeHelmRelease(gzipSync(Buffer.from(JSON.stringify(value))), 'test').version).toBe(1);
  });

  it('names the record it cannot decode', () => {
    expect(() => decodeHelmReleaseSecret({ metadata: { name: 'r', namespace: 'n' }, data: {} })).toThrow(
      'helm release record secret n/r has no data.release',
    );
    expect(() => decodeHelmRelease(Buffer.from('%%% not helm'), 'secret n/r')).toThrow(
      'helm release record secret n/r is neither gzip nor json under base64',
    );
    expect(() => decodeHelmRelease(Buffer.from('{"name":"x"}'), 'secret n/r')).toThrow(
      'helm release record secret n/r has no name or version',
    );
  });

  it('takes the newest deployed revision, else the newest', () => {
    expect(currentRevision([release(1, 'superseded'), release(3, 'failed'), release(2, 'deployed')])?.version).toBe(2);
    expect(currentRevision([release(1, 'failed'), release(2, 'pending-upgrade')])?.version).toBe(2);
    expect(currentRevision([])).toBeUndefined();
  });

  it('lists the resources of a rendered manifest', () => {
    expect(manifestResources(manifest)).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'shop-config' },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop-web', namespace: 'other' },
      { apiVersion: 'v1', kind: 'Service', name: 'shop-web' },
    ]);
    expect(() => manifestResources('a: [b')).toThrow(/helm manifest is not valid yaml/);
  });
});
