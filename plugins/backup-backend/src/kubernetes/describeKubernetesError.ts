import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { ApiException } from '@kubernetes/client-node';

/** The cluster a call went to, for messages. */
export interface ClusterRef {
  name: string;
  url?: string;
}

const TYPED_ERRORS = new Set([
  'InputError',
  'AuthenticationError',
  'NotAllowedError',
  'NotFoundError',
  'ConflictError',
  'NotModifiedError',
  'NotImplementedError',
  'ServiceUnavailableError',
]);

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Walks `cause` (and AggregateError members) for a Node/undici error code. */
function findErrorCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 5) {
    return undefined;
  }
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    return code;
  }
  const fromCause = findErrorCode(cause, depth + 1);
  if (fromCause) {
    return fromCause;
  }
  if (Array.isArray(errors)) {
    for (const member of errors) {
      const found = findErrorCode(member, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('CERT_') ||
    code.startsWith('UNABLE_TO_') ||
    code.includes('SELF_SIGNED')
  );
}

/** The `message` of a Kubernetes Status body, when the body is one. */
function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() ? body.trim().slice(0, 500) : undefined;
    }
  }
  if (value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    return (value as { message: string }).message;
  }
  return undefined;
}

/** The HTTP status of a client-node error (v2 `ApiException`, or v1-style `statusCode`). */
export function kubernetesStatusCode(error: unknown): number | undefined {
  if (error instanceof ApiException) {
    return error.code;
  }
  if (error && typeof error === 'object') {
    const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
    if (typeof statusCode === 'number') return statusCode;
    if (typeof code === 'number' && code >= 100 && code < 600) return code;
  }
  return undefined;
}

/** True for a Kubernetes 404 (the object or the resource type does not exist). */
export function isKubernetesNotFound(error: unknown): boolean {
  return kubernetesStatusCode(error) === 404;
}

/**
 * Turns an error of `@kubernetes/client-node` (or of the fetch underneath) into a typed
 * `@backstage/errors` error whose message says which cluster, what was being done and why:
 * 404 → NotFoundError, 403 and 401 → NotAllowedError, 409 → ConflictError, other 4xx →
 * InputError, an unreachable cluster or 5xx → ServiceUnavailableError. Typed errors pass through.
 */
export function describeKubernetesError(
  error: unknown,
  cluster: ClusterRef | string,
  action?: string,
): Error {
  const ref = typeof cluster === 'string' ? { name: cluster } : cluster;
  if (error instanceof Error && TYPED_ERRORS.has(error.name)) {
    return error;
  }
  const prefix = `cluster ${ref.name}${action ? `: ${action}` : ''}`;
  const status = kubernetesStatusCode(error);
  if (status !== undefined) {
    const body = error instanceof ApiException ? error.body : (error as { body?: unknown }).body;
    const detail = statusMessage(body) ?? `http ${status}`;
    switch (status) {
      case 404:
        return new NotFoundError(`${prefix}: ${detail}`);
      case 401:
        return new NotAllowedError(
          `${prefix}: the cluster rejected Ferry's credentials (401 unauthorized); check its authProvider and token in kubernetes.clusterLocatorMethods`,
        );
      case 403:
        return new NotAllowedError(`${prefix}: ${detail}`);
      case 409:
        return new ConflictError(`${prefix}: ${detail}`);
      default:
        if (status >= 400 && status < 500) {
          return new InputError(`${prefix}: ${detail}`);
        }
        return new ServiceUnavailableError(`${prefix}: the api server answered ${status}: ${detail}`);
    }
  }
  const code = findErrorCode(error);
  const at = ref.url ? ` at ${ref.url}` : '';
  if (code && CONNECTION_CODES.has(code)) {
    return new ServiceUnavailableError(`cluster ${ref.name} is unreachable${at}: ${code}`);
  }
  if (code && isTlsCode(code)) {
    return new ServiceUnavailableError(
      `cluster ${ref.name}${at} failed the tls handshake: ${code} (check caData, caFile or skipTLSVerify)`,
    );
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new ServiceUnavailableError(`cluster ${ref.name} is unreachable${at}: ${code ?? 'fetch failed'}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${prefix}: ${message}`);
}
