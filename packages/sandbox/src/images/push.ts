import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { Registry } from '../registry';
import { blobPath } from './blobStore';
import type { Image } from './image';

export type PushedImage = {
  /** `<registry host>/<repository>:<tag>`, usable as a container image. */
  reference: string;
  /** Manifest digest (`sha256:…`). */
  digest: string;
  /** Digests of the config and layer blobs. */
  blobs: string[];
  /** Blobs the registry did not have yet (the others were skipped). */
  uploaded: string[];
};

function authHeaders(registry: Registry): Record<string, string> {
  if (!registry.auth) return {};
  return { authorization: `Basic ${Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64')}` };
}

/**
 * Pushes an image from the blob store through the registry's distribution API: a blob the
 * repository already has (HEAD 200) is skipped, the others go as one monolithic upload each
 * (POST, then PUT with the digest, streamed from the file), then the manifest under `tag`.
 */
export async function pushImage(registry: Registry, image: Image, target: { repository: string; tag: string }): Promise<PushedImage> {
  const headers = authHeaders(registry);
  const base = `${registry.url}/v2/${target.repository}`;
  const uploaded: string[] = [];
  const blobs = [image.config.digest, ...image.layers.map(l => l.digest)];
  for (const digest of blobs) {
    const head = await fetch(`${base}/blobs/${digest}`, { method: 'HEAD', headers });
    if (head.status === 200) continue;
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers });
    if (start.status !== 202) throw new Error(`registry ${registry.host} refused a blob upload to ${target.repository}: HTTP ${start.status}`);
    const location = new URL(start.headers.get('location')!, registry.url);
    location.searchParams.set('digest', digest);
    const file = blobPath(digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(fs.statSync(file).size) },
      body: Readable.toWeb(fs.createReadStream(file)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    if (put.status !== 201) throw new Error(`registry ${registry.host} refused blob ${digest} of ${target.repository}: HTTP ${put.status}`);
    uploaded.push(digest);
  }
  const put = await fetch(`${base}/manifests/${target.tag}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: image.manifest,
  });
  if (put.status !== 201) {
    throw new Error(`registry ${registry.host} refused the manifest of ${target.repository}:${target.tag}: HTTP ${put.status} ${await put.text()}`);
  }
  return { reference: `${registry.host}/${target.repository}:${target.tag}`, digest: image.digest, blobs, uploaded };
}
