import type { KubernetesObject } from '@kubernetes/client-node';
import { dockerConfigOf, mergeDockerConfigs, pullSecretNames } from './registryAccess';

const b64 = (value: string) => Buffer.from(value).toString('base64');

describe('pullSecretNames', () => {
  it('collects the pull secrets of pod templates and service accounts, once each', () => {
    const objects = [
      { kind: 'Deployment', spec: { template: { spec: { containers: [], imagePullSecrets: [{ name: 'a' }, { name: 'b' }] } } } },
      { kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [], imagePullSecrets: [{ name: 'c' }] } } } } } },
      { kind: 'ServiceAccount', imagePullSecrets: [{ name: 'b' }, { name: 'd' }] },
      { kind: 'ConfigMap', data: { imagePullSecrets: 'x' } },
    ] as unknown as KubernetesObject[];
    expect(pullSecretNames(objects)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('dockerConfigOf', () => {
  it('reads .dockerconfigjson and the legacy .dockercfg', () => {
    const auths = { 'registry.example:5000': { auth: b64('u:p') } };
    expect(dockerConfigOf({ data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) } })).toEqual({ auths });
    expect(dockerConfigOf({ data: { '.dockercfg': b64(JSON.stringify(auths)) } })).toEqual({ auths });
  });

  it('ignores secrets without registry credentials or with malformed ones', () => {
    expect(dockerConfigOf({ data: { password: b64('x') } })).toBeUndefined();
    expect(dockerConfigOf({ data: { '.dockerconfigjson': b64('{not json') } })).toBeUndefined();
    expect(dockerConfigOf({ data: { '.dockerconfigjson': b64(JSON.stringify({ auths: 'nope' })) } })).toBeUndefined();
  });
});

describe('mergeDockerConfigs', () => {
  it('keeps the first entry for a registry named twice', () => {
    const merged = mergeDockerConfigs([
      { auths: { one: { auth: 'first' } } },
      { auths: { one: { auth: 'second' }, two: { username: 'u', password: 'p' } } },
    ]);
    expect(merged).toEqual({ auths: { one: { auth: 'first' }, two: { username: 'u', password: 'p' } } });
  });
});
