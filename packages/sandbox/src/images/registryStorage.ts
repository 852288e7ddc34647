import fs from 'node:fs';
import path from 'node:path';
import { blobPath } from './blobStore';
import type { Image } from './image';

export type SeedEntry = { image: Image; repository: string; tag: string };

/** Hard link (or copy when on another file system) of a file; an existing target is kept. */
function linkOrCopy(source: string, target: string): void {
  if (fs.existsSync(target)) return;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    fs.linkSync(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    fs.copyFileSync(source, target, fs.constants.COPYFILE_FICLONE);
  }
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

function writeLink(file: string, digest: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, digest);
}

/**
 * Lays images into a (stopped) `docker-registry` filesystem storage root as if they had been
 * pushed: blobs under `docker/registry/v2/blobs/sha256/<2>/<hex>/data` (hard links to the blob
 * store: no copy, no upload), and per repository the `_layers`, `_manifests/revisions` and
 * `_manifests/tags/<tag>` link files of distribution 2.x's storage layout. The registry never
 * writes into an existing blob, so sharing the files is safe. startSandbox checks afterwards that
 * the registry serves each manifest (and pushes through the API if it does not).
 */
export function seedRegistryStorage(storageDir: string, entries: SeedEntry[]): void {
  const v2 = path.join(storageDir, 'docker', 'registry', 'v2');
  for (const { image, repository, tag } of entries) {
    const blobs = [image.digest, image.config.digest, ...image.layers.map(l => l.digest)];
    for (const digest of blobs) {
      linkOrCopy(blobPath(digest), path.join(v2, 'blobs', 'sha256', hex(digest).slice(0, 2), hex(digest), 'data'));
    }
    const repo = path.join(v2, 'repositories', ...repository.split('/'));
    for (const digest of [image.config.digest, ...image.layers.map(l => l.digest)]) {
      writeLink(path.join(repo, '_layers', 'sha256', hex(digest), 'link'), digest);
    }
    writeLink(path.join(repo, '_manifests', 'revisions', 'sha256', hex(image.digest), 'link'), image.digest);
    writeLink(path.join(repo, '_manifests', 'tags', tag, 'current', 'link'), image.digest);
    writeLink(path.join(repo, '_manifests', 'tags', tag, 'index', 'sha256', hex(image.digest), 'link'), image.digest);
  }
}
