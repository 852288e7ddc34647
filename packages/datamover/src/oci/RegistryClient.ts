import { createHash } from 'node:crypto';
import { parseChallenge } from './challenge';
import type { CredentialLookup, RegistryCredentials } from './dockerConfig';
import { RegistryError, type RegistryErrorCode } from './errors';
import { MANIFEST_ACCEPT } from './mediaTypes';
import {
  isLoopbackHost,
  manifestReference,
  parseImageReference,
  type ImageReference,
} from './reference';

export interface RegistryClientOptions {
  /** Credentials per registry host (e.g. from `readDockerConfigFile`); anonymous when absent. */
  credentials?: CredentialLookup;
  /** Hosts (`host` or `host:port`) reached over plain http; loopback hosts always are. */
  insecureRegistries?: string[];
  /** Time to wait for a response's headers (not for a blob's bytes); default 30 s. */
  timeoutMs?: number;
  userAgent?: string;
}

/** Where a repository lives: the registry API host and the repository path. */
export type RepositoryLocation = Pick<ImageReference, 'registry' | 'domain' | 'repository'>;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface FetchedManifest extends Descriptor {
  bytes: Buffer;
}

export type Reachability =
  | { reachable: true; digest: string; mediaType: string }
  | { reachable: false; code: RegistryErrorCode; reason: string };

type Actions = 'pull' | 'pull,push';

interface RequestOptions {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST';
  /** Path under `/v2/<repository>/`, or an absolute URL (upload locations). */
  path: string;
  actions: Actions;
  headers?: Record<string, string>;
  body?: Buffer | AsyncIterable<Uint8Array>;
  size?: number;
  timeoutMs?: number;
  /** What the request is about, for error messages. */
  what: string;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A small client of the OCI distribution API on `fetch`: manifests and blobs, pull and push,
 * anonymous, Basic and Bearer-token auth (the `WWW-Authenticate` challenge), https except for
 * loopback and insecure hosts. See the package README for why it is not a library.
 */
export class RegistryClient {
  private readonly auth = new Map<string, string>();

  constructor(private readonly o: RegistryClientOptions = {}) {}

  /** Digest, media type and size of the manifest a reference names (HEAD, GET as fallback). */
  async resolve(reference: string | ImageReference, options?: { timeoutMs?: number }): Promise<Descriptor> {
    const ref = typeof reference === 'string' ? parseImageReference(reference) : reference;
    const res = await this.request(ref, {
      method: 'HEAD',
      path: `manifests/${manifestReference(ref)}`,
      actions: 'pull',
      headers: { accept: MANIFEST_ACCEPT },
      timeoutMs: options?.timeoutMs,
      what: `manifest of ${ref.canonical}`,
    });
    const digest = res.headers.get('docker-content-digest');
    const mediaType = contentType(res);
    const size = Number(res.headers.get('content-length'));
    if (res.ok && digest && mediaType && Number.isFinite(size) && size > 0) {
      if (ref.digest && digest !== ref.digest) throw mismatch(ref.canonical, digest);
      return { digest, mediaType, size };
    }
    const m = await this.getManifest(ref, options);
    return { digest: m.digest, mediaType: m.mediaType, size: m.size };
  }

  /** Whether an image can be pulled from here; never throws (for validation). */
  async reachable(reference: string, options?: { timeoutMs?: number }): Promise<Reachability> {
    try {
      const d = await this.resolve(reference, { timeoutMs: options?.timeoutMs ?? 5_000 });
      return { reachable: true, digest: d.digest, mediaType: d.mediaType };
    } catch (e) {
      if (e instanceof RegistryError) return { reachable: false, code: e.code, reason: e.message };
      return { reachable: false, code: 'PROTOCOL', reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The manifest's bytes as stored (its digest is theirs); a pinned reference is checked. */
  async getManifest(reference: string | ImageReference, options?: { timeoutMs?: number }): Promise<FetchedManifest> {
    const ref = typeof reference === 'string' ? parseImageReference(reference) : reference;
    const res = await this.request(ref, {
      method: 'GET',
      path: `manifests/${manifestReference(ref)}`,
      actions: 'pull',
      headers: { accept: MANIFEST_ACCEPT },
      timeoutMs: options?.timeoutMs,
      what: `manifest of ${ref.canonical}`,
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = sha256(bytes);
    const announced = res.headers.get('docker-content-digest');
    if (announced && announced.startsWith('sha256:') && announced !== digest) throw mismatch(ref.canonical, digest);
    if (ref.digest && ref.digest !== digest) throw mismatch(ref.canonical, digest);
    let mediaType = contentType(res);
    if (!mediaType || mediaType === 'application/json' || mediaType === 'text/plain') {
      try {
        mediaType = String((JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType ?? '');
      } catch {
        mediaType = '';
      }
    }
    if (!mediaType) {
      throw new RegistryError('UNSUPPORTED', `manifest of ${ref.canonical} has no media type (schema 1 manifests are not supported)`);
    }
    return { bytes, digest, mediaType, size: bytes.length };
  }

  /** Pushes manifest bytes unchanged under a tag or digest; returns the digest the registry reports. */
  async putManifest(loc: RepositoryLocation, o: { reference: string; bytes: Buffer; mediaType: string }): Promise<string> {
    const digest = sha256(o.bytes);
    const res = await this.request(loc, {
      method: 'PUT',
      path: `manifests/${o.reference}`,
      actions: 'pull,push',
      headers: { 'content-type': o.mediaType },
      body: o.bytes,
      what: `manifest ${loc.domain}/${loc.repository}:${o.reference}`,
    });
    await res.arrayBuffer().catch(() => undefined);
    const announced = res.headers.get('docker-content-digest');
    if (announced && announced !== digest) {
      throw new RegistryError('DIGEST_MISMATCH', `registry stored manifest ${loc.domain}/${loc.repository}:${o.reference} as ${announced}, pushed ${digest}`);
    }
    return digest;
  }

  /** Size of a blob when the repository has it, else undefined (HEAD). */
  async blobExists(loc: RepositoryLocation, digest: string, actions: Actions = 'pull'): Promise<{ size: number } | undefined> {
    try {
      const res = await this.request(loc, { method: 'HEAD', path: `blobs/${digest}`, actions, what: `blob ${digest} in ${loc.domain}/${loc.repository}` });
      return { size: Number(res.headers.get('content-length') ?? -1) };
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    }
  }

  /** A blob's bytes as a stream; the caller verifies the digest (the repository does). */
  async getBlob(loc: RepositoryLocation, digest: string): Promise<{ size: number; body: AsyncIterable<Uint8Array> }> {
    const res = await this.request(loc, { method: 'GET', path: `blobs/${digest}`, actions: 'pull', what: `blob ${digest} of ${loc.domain}/${loc.repository}` });
    if (!res.body) throw new RegistryError('PROTOCOL', `blob ${digest} of ${loc.domain}/${loc.repository} came without a body`);
    return { size: Number(res.headers.get('content-length') ?? -1), body: res.body as AsyncIterable<Uint8Array> };
  }

  /**
   * Uploads a blob monolithically (POST, then one PUT with the streamed body and the digest).
   * An error thrown by `body` (e.g. a digest check of the source) is the one rethrown.
   */
  async putBlob(loc: RepositoryLocation, o: { digest: string; size: number; body: AsyncIterable<Uint8Array> }): Promise<void> {
    const what = `blob ${o.digest} to ${loc.domain}/${loc.repository}`;
    const start = await this.request(loc, { method: 'POST', path: 'blobs/uploads/', actions: 'pull,push', what });
    await start.arrayBuffer().catch(() => undefined);
    const location = start.headers.get('location');
    if (start.status !== 202 || !location) {
      throw new RegistryError('PROTOCOL', `registry did not start the upload of ${what} (HTTP ${start.status}, no location)`);
    }
    const url = new URL(location, this.baseUrl(loc.registry));
    url.searchParams.set('digest', o.digest);
    let sourceError: unknown;
    const body = (async function* guarded() {
      try {
        yield* o.body;
      } catch (e) {
        sourceError = e;
        throw e;
      }
    })();
    try {
      const res = await this.request(loc, {
        method: 'PUT',
        path: url.toString(),
        actions: 'pull,push',
        headers: { 'content-type': 'application/octet-stream' },
        body,
        size: o.size,
        what,
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch (e) {
      throw sourceError ?? e;
    }
    if (sourceError) throw sourceError;
  }

  // ---- transport ----

  baseUrl(registry: string): string {
    const insecure = isLoopbackHost(registry) || (this.o.insecureRegistries ?? []).some(h => h === registry || h === registry.replace(/:\d+$/, ''));
    return `${insecure ? 'http' : 'https'}://${registry}`;
  }

  private async request(loc: RepositoryLocation, r: RequestOptions): Promise<Response> {
    const key = `${loc.registry}|${loc.repository}|${r.actions}`;
    let res = await this.send(loc, r, this.auth.get(key) ?? this.auth.get(`${loc.registry}|basic`));
    if (res.status === 401 && !isStream(r.body)) {
      await res.arrayBuffer().catch(() => undefined);
      const header = await this.authenticate(loc, r.actions, res.headers.get('www-authenticate'));
      this.auth.set(header.startsWith('Basic ') ? `${loc.registry}|basic` : key, header);
      res = await this.send(loc, r, header);
    }
    if (res.ok || (r.method === 'POST' && res.status === 202)) return res;
    const detail = await errorDetail(res);
    const where = `${r.what} (HTTP ${res.status}${detail ? `: ${detail}` : ''})`;
    switch (res.status) {
      case 401:
        throw new RegistryError('UNAUTHORIZED', `registry ${loc.domain} refused the credentials for ${where}`, { status: 401 });
      case 403:
        throw new RegistryError('DENIED', `registry ${loc.domain} denied access to ${where}`, { status: 403 });
      case 404:
        throw new RegistryError('NOT_FOUND', `registry ${loc.domain} has no ${where}`, { status: 404 });
      default:
        throw new RegistryError('PROTOCOL', `registry ${loc.domain} failed on ${where}`, { status: res.status });
    }
  }

  private async send(loc: RepositoryLocation, r: RequestOptions, authorization?: string): Promise<Response> {
    const url = /^https?:\/\//.test(r.path) ? r.path : `${this.baseUrl(loc.registry)}/v2/${loc.repository}/${r.path}`;
    const headers: Record<string, string> = { 'user-agent': this.o.userAgent ?? 'ferry-datamover', ...r.headers };
    if (authorization) headers.authorization = authorization;
    if (r.size !== undefined) headers['content-length'] = String(r.size);
    const ac = new AbortController();
    const timeoutMs = r.timeoutMs ?? this.o.timeoutMs ?? 30_000;
    const timer = isStream(r.body) ? undefined : setTimeout(() => ac.abort(), timeoutMs);
    try {
      const init: RequestInit & { duplex?: 'half' } = { method: r.method, headers, signal: ac.signal, redirect: 'follow' };
      if (r.body !== undefined) {
        init.body = r.body as unknown as BodyInit;
        if (isStream(r.body)) init.duplex = 'half';
      }
      return await fetch(url, init);
    } catch (e) {
      if (ac.signal.aborted) {
        throw new RegistryError('UNREACHABLE', `registry ${loc.domain} did not answer within ${timeoutMs} ms (${r.what})`, { cause: e });
      }
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryError('UNREACHABLE', `registry ${loc.domain} is unreachable at ${this.baseUrl(loc.registry)} (${cause?.code ?? cause?.message ?? (e as Error).message}) for ${r.what}`, { cause: e });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Answers a `WWW-Authenticate` challenge: Basic credentials, or a Bearer token from the realm. */
  private async authenticate(loc: RepositoryLocation, actions: Actions, header: string | null): Promise<string> {
    const challenge = parseChallenge(header);
    const creds = this.o.credentials?.(loc.domain);
    if (!challenge) {
      throw new RegistryError('UNAUTHORIZED', `registry ${loc.domain} asks for authentication with an unsupported challenge "${header ?? ''}"`);
    }
    if (challenge.scheme === 'basic') {
      if (!creds) throw new RegistryError('UNAUTHORIZED', `registry ${loc.domain} needs credentials and none are configured for it`);
      return basic(creds);
    }
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', `repository:${loc.repository}:${actions}`);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: creds ? { authorization: basic(creds) } : {},
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new RegistryError('UNREACHABLE', `token service ${url.origin} of registry ${loc.domain} is unreachable`, { cause: e });
    }
    if (!res.ok) {
      const code = res.status === 401 || res.status === 403 ? 'UNAUTHORIZED' : 'PROTOCOL';
      throw new RegistryError(code, `token service ${url.origin} of registry ${loc.domain} refused a token for ${loc.repository} (${actions}): HTTP ${res.status}`, { status: res.status });
    }
    const json = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = json.token ?? json.access_token;
    if (!token) throw new RegistryError('PROTOCOL', `token service ${url.origin} of registry ${loc.domain} answered without a token`);
    return `Bearer ${token}`;
  }
}

function basic(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function isStream(body: RequestOptions['body']): body is AsyncIterable<Uint8Array> {
  return body !== undefined && !Buffer.isBuffer(body);
}

function contentType(res: Response): string {
  return (res.headers.get('content-type') ?? '').split(';')[0].trim();
}

function mismatch(ref: string, digest: string): RegistryError {
  return new RegistryError('DIGEST_MISMATCH', `registry served manifest ${digest} for ${ref}`);
}

async function errorDetail(res: Response): Promise<string> {
  try {
    const text = await res.text();
    const j = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const e = j.errors?.[0];
    return e ? `${e.code ?? ''} ${e.message ?? ''}`.trim().toLowerCase() : '';
  } catch {
    return '';
  }
}

/** Location of a repository from a reference string or parsed reference. */
export function locationOf(ref: ImageReference): RepositoryLocation {
  return { registry: ref.registry, domain: ref.domain, repository: ref.repository };
}
