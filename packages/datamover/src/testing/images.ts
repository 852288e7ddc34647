import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Registry } from '@ferry/sandbox/src/registry';
import { pushTestImage, type PushedImage } from '@ferry/sandbox/src/testImage';

export const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Raw registry access for assertions (plain fetch: the client under test is not used). */
export function rawRegistry(registry: Registry) {
  const headers: Record<string, string> = {};
  if (registry.auth) {
    headers.authorization = `Basic ${Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64')}`;
  }
  const accept = [
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
  ].join(', ');
  return {
    /** Manifest bytes and their digest, or undefined on 404. */
    async manifest(repository: string, reference: string) {
      const res = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, { headers: { ...headers, accept } });
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`GET manifest ${repository}:${reference}: HTTP ${res.status}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      return { bytes, digest: sha256(bytes), mediaType: res.headers.get('content-type') ?? '', json: JSON.parse(bytes.toString()) };
    },
    /** Digest of a blob's bytes as served. */
    async blobDigest(repository: string, digest: string): Promise<string> {
      const res = await fetch(`${registry.url}/v2/${repository}/blobs/${digest}`, { headers });
      if (!res.ok) throw new Error(`GET blob ${repository}@${digest}: HTTP ${res.status}`);
      return sha256(Buffer.from(await res.arrayBuffer()));
    },
    async putManifest(repository: string, reference: string, body: Buffer, mediaType: string) {
      const res = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': mediaType },
        body,
      });
      if (res.status !== 201) throw new Error(`PUT manifest ${repository}:${reference}: HTTP ${res.status} ${await res.text()}`);
    },
  };
}

/**
 * Pushes two single-platform images and an OCI index over them (`linux/amd64`, `linux/arm64`)
 * as `<repository>:<tag>`; returns the index digest and the two images.
 */
export async function pushTwoPlatformImage(registry: Registry, o: { repository: string; tag: string }) {
  const raw = rawRegistry(registry);
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ];
  const children: Array<{ image: PushedImage; size: number; platform: { os: string; architecture: string } }> = [];
  for (const platform of platforms) {
    const image = await pushTestImage(registry, {
      repository: o.repository,
      tag: `${o.tag}-${platform.architecture}`,
      files: { '/etc/arch': `${platform.architecture}\n` },
    });
    const m = await raw.manifest(o.repository, image.digest);
    children.push({ image, size: m!.bytes.length, platform });
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map(c => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: c.image.digest,
        size: c.size,
        platform: c.platform,
      })),
    }),
  );
  await raw.putManifest(o.repository, o.tag, index, 'application/vnd.oci.image.index.v1+json');
  return { reference: `${registry.host}/${o.repository}:${o.tag}`, digest: sha256(index), children };
}

/** A docker config JSON file with credentials for the given registries (both `auth` and fields). */
export async function writeDockerConfig(dir: string, registries: Registry[]): Promise<string> {
  const auths: Record<string, object> = {};
  registries.forEach((r, i) => {
    if (!r.auth) return;
    auths[r.host] =
      i % 2 === 0
        ? { auth: Buffer.from(`${r.auth.username}:${r.auth.password}`).toString('base64') }
        : { username: r.auth.username, password: r.auth.password };
  });
  const file = path.join(dir, `dockerconfig-${Date.now()}.json`);
  await fs.writeFile(file, JSON.stringify({ auths }));
  return file;
}
