import { credentialsFromDockerConfig } from './dockerConfig';
import { parseChallenge } from './challenge';
import { isLoopbackHost, parseImageReference } from './reference';
import { RegistryClient } from './RegistryClient';

const D = `sha256:${'ab'.repeat(32)}`;

describe('image references (docker conventions)', () => {
  it.each([
    ['nginx', 'registry-1.docker.io', 'library/nginx', 'latest', undefined, 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'registry-1.docker.io', 'library/nginx', '1.27', undefined, 'docker.io/library/nginx:1.27'],
    ['bitnami/redis', 'registry-1.docker.io', 'bitnami/redis', 'latest', undefined, 'docker.io/bitnami/redis:latest'],
    ['docker.io/nginx', 'registry-1.docker.io', 'library/nginx', 'latest', undefined, 'docker.io/library/nginx:latest'],
    ['localhost/app', 'localhost', 'app', 'latest', undefined, 'localhost/app:latest'],
    ['host:5000/a/b:t', 'host:5000', 'a/b', 't', undefined, 'host:5000/a/b:t'],
    [`ghcr.io/o/r@${D}`, 'ghcr.io', 'o/r', undefined, D, `ghcr.io/o/r@${D}`],
    [`r.io/x:1@${D}`, 'r.io', 'x', '1', D, `r.io/x:1@${D}`],
    ['[::1]:5000/x', '[::1]:5000', 'x', 'latest', undefined, '[::1]:5000/x:latest'],
  ])('%s', (input, registry, repository, tag, digest, canonical) => {
    expect(parseImageReference(input)).toMatchObject({ registry, repository, tag, digest, canonical });
  });
  it.each(['', 'UPPER/case', 'a@sha256:12', 'a:-bad', 'a//b', 'host:port:1/x'])('refuses %j', input => {
    expect(() => parseImageReference(input)).toThrow(/image reference .* is invalid/);
  });
  it('uses http only for loopback and insecure hosts', () => {
    expect(['localhost:5000', '127.0.0.1:1', '[::1]:5000'].every(isLoopbackHost)).toBe(true);
    const c = new RegistryClient({ insecureRegistries: ['reg.local:5000', 'plain.local'] });
    expect(c.baseUrl('reg.local:5000')).toBe('http://reg.local:5000');
    expect(c.baseUrl('plain.local:8080')).toBe('http://plain.local:8080');
    expect(c.baseUrl('ghcr.io')).toBe('https://ghcr.io');
  });
  it('reads docker config credentials (auth or fields, URL keys, Docker Hub aliases) and challenges', () => {
    const lookup = credentialsFromDockerConfig({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
        'reg:5000': { username: 'u', password: 'p' },
      },
    });
    expect(lookup('docker.io')).toEqual({ username: 'hub', password: 'pw:with:colons' });
    expect(lookup('reg:5000')).toEqual({ username: 'u', password: 'p' });
    expect(lookup('other')).toBeUndefined();
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"')).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/nginx:pull',
    });
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: 'basic', realm: 'x' });
  });
});
