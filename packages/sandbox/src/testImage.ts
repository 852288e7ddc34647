import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Registry } from './registry';

export type PushTestImageOptions = {
  /** Repository in the registry, e.g. `demo/web`. */
  repository: string;
  /** Default `1.0`. */
  tag?: string;
  /** Files of the single layer: path inside the image → content. Default: `/etc/ferry-demo`. */
  files?: Record<string, string | Buffer>;
};

export type PushedImage = {
  /** `<registry host>/<repository>:<tag>`, usable as a container image. */
  reference: string;
  /** Manifest digest (`sha256:…`). */
  digest: string;
  /** Digests of the config and layer blobs. */
  blobs: string[];
};

const sha256 = (data: Buffer) => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;

/**
 * Pushes a small single-layer OCI image (gzip tar layer made with GNU tar, deterministic) into a
 * registry through the distribution API, so image backup and restore have something real to copy
 * without reaching the internet.
 */
export async function pushTestImage(registry: Registry, options: PushTestImageOptions): Promise<PushedImage> {
  const tag = options.tag ?? '1.0';
  const files = options.files ?? { '/etc/ferry-demo': `${options.repository}:${tag}\n` };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-image-'));
  let layer: Buffer;
  let diffId: string;
  try {
    const root = path.join(work, 'root');
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(root, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    const tarFile = path.join(work, 'layer.tar');
    execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', tarFile, '.']);
    const tar = fs.readFileSync(tarFile);
    diffId = sha256(tar);
    execFileSync('gzip', ['-n', '-9', tarFile]);
    layer = fs.readFileSync(`${tarFile}.gz`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  const headers: Record<string, string> = {};
  if (registry.auth) {
    headers.authorization = `Basic ${Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64')}`;
  }
  const base = `${registry.url}/v2/${options.repository}`;
  const upload = async (blob: Buffer) => {
    const digest = sha256(blob);
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers });
    if (start.status !== 202) throw new Error(`registry refused a blob upload to ${options.repository}: HTTP ${start.status}`);
    const location = new URL(start.headers.get('location')!, registry.url);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: blob,
    });
    if (put.status !== 201) throw new Error(`registry refused blob ${digest}: HTTP ${put.status}`);
    return digest;
  };
  const configDigest = await upload(config);
  const layerDigest = await upload(layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    }),
  );
  const put = await fetch(`${base}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`registry refused the manifest of ${options.repository}:${tag}: HTTP ${put.status}`);
  return { reference: `${registry.host}/${options.repository}:${tag}`, digest: sha256(manifest), blobs: [configDigest, layerDigest] };
}
