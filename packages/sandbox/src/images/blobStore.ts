import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `${FERRY_CACHE:-~/.cache/ferry}/images`: content-addressed blobs and the layer index of built images. */
export function imageCacheDir(): string {
  const base = process.env.FERRY_CACHE || path.join(os.homedir(), '.cache', 'ferry');
  return path.join(base, 'images');
}

export const sha256Hex = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

/** Path of a blob (`sha256:<hex>`) in the store. */
export function blobPath(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) throw new Error(`not a sha256 digest: ${digest}`);
  return path.join(imageCacheDir(), 'blobs', 'sha256', match[1]);
}

/** Stores bytes as a blob (idempotent); returns its digest. */
export function putBlob(data: Buffer): { digest: string; size: number } {
  const digest = `sha256:${sha256Hex(data)}`;
  const file = blobPath(digest);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, file);
  }
  return { digest, size: data.length };
}

/** Moves a file whose digest is known into the store (kept when already there). */
export function adoptBlobFile(file: string, digest: string): string {
  const target = blobPath(digest);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (fs.existsSync(target)) fs.rmSync(file, { force: true });
  else fs.renameSync(file, target);
  return target;
}

/** A folder for temporary build files inside the cache (same file system as the store: renames work). */
export function makeWorkDir(prefix: string): string {
  const dir = path.join(imageCacheDir(), 'tmp');
  fs.mkdirSync(dir, { recursive: true });
  return fs.mkdtempSync(path.join(dir, `${prefix}-`));
}
