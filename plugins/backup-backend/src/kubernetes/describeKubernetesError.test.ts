import { InputError, NotFoundError } from '@backstage/errors';
import { ApiException } from '@kubernetes/client-node';
import { describeKubernetesError, isKubernetesNotFound } from './describeKubernetesError';

const cluster = { name: 'sandbox', url: 'https://127.0.0.1:6443' };

function status(code: number, message: string) {
  return new ApiException(
    code,
    'Unsuccessful HTTP Request',
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }),
    {},
  );
}

describe('describeKubernetesError', () => {
  it.each([
    [404, 'secrets "x" not found', 'NotFoundError'],
    [403, 'secrets is forbidden: User "system:serviceaccount:ferry:ferry" cannot list resource "secrets"', 'NotAllowedError'],
    [409, 'persistentvolumeclaims "data" already exists', 'ConflictError'],
    [422, 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1', 'InputError'],
  ])('maps %s to a typed error carrying the server message', (code, message, name) => {
    const error = describeKubernetesError(status(code, message), cluster, 'reading secret shop/x');
    expect(error.name).toBe(name);
    expect(error.message).toBe(`cluster sandbox: reading secret shop/x: ${message}`);
  });

  it('says the credentials were rejected on 401', () => {
    const error = describeKubernetesError(new ApiException(401, 'Unauthorized', undefined, {}), cluster);
    expect(error.name).toBe('NotAllowedError');
    expect(error.message).toBe(
      "cluster sandbox: the cluster rejected Ferry's credentials (401 unauthorized); check its authProvider and token in kubernetes.clusterLocatorMethods",
    );
  });

  it('maps a 5xx to ServiceUnavailableError', () => {
    const error = describeKubernetesError(status(503, 'the server is currently unable to handle the request'), 'sandbox');
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe(
      'cluster sandbox: the api server answered 503: the server is currently unable to handle the request',
    );
  });

  it('says a cluster is unreachable, from node and undici connection errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const viaFetch = new TypeError('fetch failed', { cause: refused });
    const aggregate = new TypeError('fetch failed', {
      cause: Object.assign(new AggregateError([refused]), { code: undefined }),
    });
    for (const error of [refused, viaFetch, aggregate]) {
      const described = describeKubernetesError(error, cluster);
      expect(described.name).toBe('ServiceUnavailableError');
      expect(described.message).toBe('cluster sandbox is unreachable at https://127.0.0.1:6443: ECONNREFUSED');
    }
    const unknownHost = Object.assign(new Error('getaddrinfo ENOTFOUND k8s.example'), { code: 'ENOTFOUND' });
    expect(describeKubernetesError(unknownHost, { name: 'prod' }).message).toBe('cluster prod is unreachable: ENOTFOUND');
  });

  it('says a tls handshake failed', () => {
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const error = describeKubernetesError(tls, cluster);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe(
      'cluster sandbox at https://127.0.0.1:6443 failed the tls handshake: DEPTH_ZERO_SELF_SIGNED_CERT (check caData, caFile or skipTLSVerify)',
    );
  });

  it('passes typed errors through and names the cluster on anything else', () => {
    const typed = new NotFoundError('helm release shop not found in namespace shop');
    expect(describeKubernetesError(typed, cluster)).toBe(typed);
    const input = new InputError('bad');
    expect(describeKubernetesError(input, cluster)).toBe(input);
    const other = describeKubernetesError(new Error('boom'), cluster, 'listing secrets');
    expect(other.message).toBe('cluster sandbox: listing secrets: boom');
  });

  it('recognises a 404', () => {
    expect(isKubernetesNotFound(status(404, 'x'))).toBe(true);
    expect(isKubernetesNotFound(status(403, 'x'))).toBe(false);
    expect(isKubernetesNotFound(new Error('x'))).toBe(false);
  });
});
