import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { adoptBlobFile, blobPath, imageCacheDir, makeWorkDir } from './blobStore';

/** A gzip-compressed image layer in the blob store. */
export type Layer = {
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip';
  /** Digest of the compressed blob. */
  digest: string;
  size: number;
  /** Digest of the uncompressed tar (the image config's `rootfs.diff_ids`). */
  diffId: string;
  /** Size of the uncompressed tar. */
  tarSize: number;
};

/** GNU tar flags for reproducible archives (sorted, fixed times, owner root unless kept). */
const reproducible = (keepOwners: boolean) => [
  '--sort=name',
  '--mtime=@0',
  '--numeric-owner',
  ...(keepOwners ? [] : ['--owner=0', '--group=0']),
  // File capabilities survive (pax headers); pax's per-file atime/ctime would not be reproducible.
  '--xattrs',
  '--xattrs-include=security.capability',
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
];

/** Pipes a tar stream through sha256 (diff id) and `gzip -n` into the blob store. */
async function storeTarStream(tar: Readable, waitTar: Promise<void>): Promise<Layer> {
  const work = makeWorkDir('layer');
  try {
    const out = path.join(work, 'layer.tar.gz');
    const diffHash = crypto.createHash('sha256');
    const blobHash = crypto.createHash('sha256');
    const gzip = spawn('gzip', ['-n', '-6'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const gzipDone = new Promise<void>((resolve, reject) => {
      gzip.once('error', reject);
      gzip.once('exit', code => (code === 0 ? resolve() : reject(new Error(`gzip exited with ${code}`))));
    });
    const file = fs.createWriteStream(out);
    const written = new Promise<void>((resolve, reject) => {
      file.once('finish', resolve);
      file.once('error', reject);
    });
    let size = 0;
    gzip.stdout.on('data', (chunk: Buffer) => {
      blobHash.update(chunk);
      size += chunk.length;
    });
    gzip.stdout.pipe(file);
    let tarSize = 0;
    tar.on('data', (chunk: Buffer) => {
      diffHash.update(chunk);
      tarSize += chunk.length;
    });
    tar.pipe(gzip.stdin);
    await Promise.all([waitTar, gzipDone, written]);
    const digest = `sha256:${blobHash.digest('hex')}`;
    adoptBlobFile(out, digest);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size, diffId: `sha256:${diffHash.digest('hex')}`, tarSize };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A layer holding the content of a folder (paths relative to it, as `/` of the image), made with
 * GNU tar (reproducible: sorted names, time 0; owners root unless `keepOwners`) and gzip.
 */
export async function layerFromDirectory(dir: string, options: { keepOwners?: boolean } = {}): Promise<Layer> {
  // The folder is the image's `/` (a temporary folder is 0700: a non-root user could not enter it).
  fs.chmodSync(dir, 0o755);
  const tar = spawn('tar', [...reproducible(options.keepOwners ?? false), '-C', dir, '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  tar.stderr.on('data', chunk => (stderr += chunk));
  const done = new Promise<void>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('exit', code => (code === 0 ? resolve() : reject(new Error(`tar of ${dir} failed (${code}): ${stderr.trim()}`))));
  });
  return storeTarStream(tar.stdout, done);
}

/** A layer from an existing (uncompressed) tar archive. */
export async function layerFromTarball(tarFile: string): Promise<Layer> {
  const stream = fs.createReadStream(tarFile);
  const done = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  return storeTarStream(stream, done);
}

/**
 * A layer built once per `key` (e.g. the digest of its inputs): the index in
 * `<image cache>/layers/<key>.json` names the blob; `build` runs only when it is missing.
 */
export async function cachedLayer(key: string, build: () => Promise<Layer>): Promise<Layer & { cached: boolean }> {
  const index = path.join(imageCacheDir(), 'layers', `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  try {
    const layer = JSON.parse(fs.readFileSync(index, 'utf8')) as Layer;
    if (fs.existsSync(blobPath(layer.digest)) && layer.tarSize !== undefined) return { ...layer, cached: true };
  } catch {
    // not built yet
  }
  const layer = await build();
  fs.mkdirSync(path.dirname(index), { recursive: true });
  fs.writeFileSync(`${index}.tmp`, JSON.stringify(layer));
  fs.renameSync(`${index}.tmp`, index);
  return { ...layer, cached: false };
}
