import { RegistryError } from './errors';

/** A parsed image reference, with docker's defaults applied. */
export interface ImageReference {
  /** Registry host as used for the API (`registry-1.docker.io` for Docker Hub), with port. */
  registry: string;
  /** Host as written in references (`docker.io` for Docker Hub); the key of docker config auths. */
  domain: string;
  /** Repository path, e.g. `library/nginx`. */
  repository: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  /** `sha256:<hex>` when pinned. */
  digest?: string;
  /** The normalised full name: `docker.io/library/nginx:latest`, `host:5000/a/b@sha256:…`. */
  canonical: string;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function invalid(ref: string, why: string): RegistryError {
  return new RegistryError('INVALID_REFERENCE', `image reference "${ref}" is invalid: ${why}`);
}

/**
 * Parses an image reference with docker's conventions: `nginx` → `docker.io/library/nginx:latest`;
 * the first component is a host when it has a `.` or `:` or is `localhost`; `name:tag`,
 * `name@sha256:…` and `name:tag@sha256:…` (the digest wins when pulling).
 */
export function parseImageReference(input: string): ImageReference {
  const ref = input.trim();
  if (ref === '' || ref.length > 4096) throw invalid(input, 'empty or too long');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, `digest "${digest}" is not sha256:<64 lower-case hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `tag "${tag}" must be 1-128 of [A-Za-z0-9_.-], not starting with . or -`);
  }
  const parts = rest.split('/');
  let domain = DOCKER_HUB;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost' || parts[0].startsWith('['))) {
    domain = parts.shift()!;
    if (!HOST.test(domain)) throw invalid(input, `registry host "${domain}" is not a host[:port]`);
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (parts.length === 0 || parts.some(p => !PATH_COMPONENT.test(p))) {
    throw invalid(input, 'repository path components must be lower-case letters, digits and separators (. _ __ -)');
  }
  if (domain === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (!tag && !digest) tag = 'latest';
  const canonical = `${domain}/${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return {
    registry: domain === DOCKER_HUB ? DOCKER_HUB_API : domain,
    domain,
    repository,
    tag,
    digest,
    canonical,
  };
}

/** What to ask the registry for: the digest when pinned, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Host without port, brackets removed (for loopback detection). */
export function hostName(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const i = registry.lastIndexOf(':');
  return i >= 0 ? registry.slice(0, i) : registry;
}

export function isLoopbackHost(registry: string): boolean {
  const h = hostName(registry).toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
