import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PositionalSink, RangeSource } from '@ferry/qcow2';
import { InvalidInputError } from '../errors';
import type { IncompleteUpload, ObjectInfo, Target } from './Target';
import { FileSink, syncDir } from './FileSink';
import { FileRangeSource } from './FileRangeSource';
import { mapFsError } from './fsErrors';

const TEMP_MARK = '.tmp-';

/** Validates a repository key: relative, `/`-separated, no `.`/`..` segments, no hidden names. */
export function checkKey(key: string): void {
  const parts = key.split('/');
  if (
    key.length === 0 ||
    parts.some(p => p === '' || p === '.' || p === '..' || p.startsWith('.'))
  ) {
    throw new InvalidInputError(`object key "${key}" is not a valid repository key`);
  }
}

/**
 * A target on a filesystem path: a local folder, or NFS mounted into a pod. Objects are
 * files under `root`; writes go to hidden temp files renamed into place (atomic on POSIX and
 * NFS), so the folder can be opened with qemu-img as it is.
 */
export class FilesystemTarget implements Target {
  readonly description: string;

  constructor(private readonly root: string) {
    this.root = path.resolve(root);
    this.description = `file://${this.root}`;
  }

  private pathOf(key: string): string {
    checkKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const final = this.pathOf(key);
    const temp = FileSink.tempNameFor(final, randomBytes(6).toString('hex'));
    try {
      await fs.mkdir(path.dirname(final), { recursive: true });
      const h = await fs.open(temp, 'wx');
      try {
        await h.writeFile(data);
        await h.sync();
      } finally {
        await h.close();
      }
      await fs.rename(temp, final);
      await syncDir(path.dirname(final));
    } catch (e) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw mapFsError(e, key, this.root);
    }
  }

  async putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean> {
    const final = this.pathOf(key);
    const temp = FileSink.tempNameFor(final, randomBytes(6).toString('hex'));
    try {
      await fs.mkdir(path.dirname(final), { recursive: true });
      await fs.writeFile(temp, data, { flag: 'wx' });
      // link() fails with EEXIST when the name exists: atomic create-if-absent, also on NFSv3+.
      try {
        await fs.link(temp, final);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
      await syncDir(path.dirname(final));
      return true;
    } catch (e) {
      throw mapFsError(e, key, this.root);
    } finally {
      await fs.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<{ size: number }> {
    const final = this.pathOf(key);
    const temp = FileSink.tempNameFor(final, randomBytes(6).toString('hex'));
    let size = 0;
    try {
      await fs.mkdir(path.dirname(final), { recursive: true });
      const h = await fs.open(temp, 'wx');
      try {
        for await (const chunk of body) {
          let done = 0;
          while (done < chunk.length) {
            const { bytesWritten } = await h.write(chunk, done, chunk.length - done);
            done += bytesWritten;
          }
          size += chunk.length;
        }
        await h.sync();
      } finally {
        await h.close();
      }
      await fs.rename(temp, final);
      await syncDir(path.dirname(final));
      return { size };
    } catch (e) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw mapFsError(e, key, this.root);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await fs.readFile(this.pathOf(key)));
    } catch (e) {
      throw mapFsError(e, key, this.root);
    }
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array>> {
    const p = this.pathOf(key);
    try {
      await fs.access(p);
    } catch (e) {
      throw mapFsError(e, key, this.root);
    }
    // 64 KiB chunks (Node's default): a reader that consumes a stream slowly, as a backup its
    // parent's digest index (2 KiB per 8 MiB window), drops each chunk before V8's next minor
    // GC; 1 MiB chunks outlived it and piled up until a full one (with the datamover's 16 KiB
    // index chunks, a 64 GiB incremental's peak RSS went from 139-140 to 109-110 MiB).
    return createReadStream(p, { highWaterMark: 64 * 1024 });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await fs.stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size, modified: s.mtime } : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw mapFsError(e, key, this.root);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const f of this.walk(prefix)) {
      if (!f.hidden) yield f.info;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.rm(this.pathOf(key), { force: true });
    } catch (e) {
      throw mapFsError(e, key, this.root);
    }
  }

  async openSink(key: string): Promise<PositionalSink> {
    const finalPath = this.pathOf(key);
    const tempPath = FileSink.tempNameFor(finalPath, randomBytes(6).toString('hex'));
    return new FileSink({ finalPath, tempPath, key, root: this.root });
  }

  async openSource(key: string): Promise<RangeSource> {
    return FileRangeSource.open({ path: this.pathOf(key), key, root: this.root });
  }

  async *listIncomplete(prefix: string): AsyncIterable<IncompleteUpload> {
    for await (const f of this.walk(prefix)) {
      if (!f.hidden) continue;
      const name = path.posix.basename(f.info.key);
      const at = name.lastIndexOf(TEMP_MARK);
      if (at < 0) continue;
      const dir = path.posix.dirname(f.info.key);
      const finalKey = `${dir === '.' ? '' : `${dir}/`}${name.slice(1, at)}`;
      yield { key: finalKey, handle: f.info.key, started: f.info.modified };
    }
  }

  async removeIncomplete(upload: IncompleteUpload): Promise<void> {
    const name = path.posix.basename(upload.handle);
    if (!name.startsWith('.') || !name.includes(TEMP_MARK)) {
      throw new InvalidInputError(`${upload.handle} is not a temp file of this target`);
    }
    await fs.rm(path.join(this.root, ...upload.handle.split('/')), { force: true });
  }

  async supportsAtomicCreate(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}

  /** Walks files under the folder part of `prefix`, in key order. */
  private async *walk(prefix: string): AsyncIterable<{ info: ObjectInfo; hidden: boolean }> {
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const baseDir = baseKey ? path.join(this.root, ...baseKey.split('/')) : this.root;
    yield* this.walkDir(baseDir, baseKey, prefix, false);
  }

  private async *walkDir(
    dir: string,
    keyPrefix: string,
    filter: string,
    hiddenParent: boolean,
  ): AsyncIterable<{ info: ObjectInfo; hidden: boolean }> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw mapFsError(e, keyPrefix || '.', this.root);
    }
    entries.sort((a, b) => Number(a.name > b.name) - Number(a.name < b.name));
    for (const entry of entries) {
      const key = keyPrefix ? `${keyPrefix}/${entry.name}` : entry.name;
      const hidden = hiddenParent || entry.name.startsWith('.');
      if (entry.isDirectory()) {
        if (!`${key}/`.startsWith(filter) && !filter.startsWith(`${key}/`)) continue;
        yield* this.walkDir(path.join(dir, entry.name), key, filter, hidden);
      } else if (entry.isFile() && key.startsWith(filter)) {
        const s = await fs.stat(path.join(dir, entry.name)).catch(() => undefined);
        if (s) yield { info: { key, size: s.size, modified: s.mtime }, hidden };
      }
    }
  }
}
