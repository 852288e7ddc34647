import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkDir, sha256Hex } from './blobStore';
import { cachedLayer, Layer, layerFromDirectory } from './layer';

export type DebianRootOptions = {
  /** Default `bookworm` (Debian 12, as the datamover Dockerfile's base). */
  suite?: string;
  /** Extra packages for `debootstrap --include` (e.g. `postgresql-15`). */
  packages?: string[];
  /** Bumped when the trimming below changes, so cached layers are made again. */
  revision?: number;
  /**
   * More paths (relative to the root) removed after the slim trimming, e.g. a package's files an
   * image does not need; part of the cache key.
   */
  removePaths?: string[];
};

/** The Debian mirror apt uses on this machine (deb822 `URIs:` or a one-line `deb` entry). */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (deb822) return deb822[1];
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+\S+/m.exec(text);
    if (line) return line[1];
  }
  return 'http://deb.debian.org/debian';
}

/**
 * Trims a root file system the way Debian's `-slim` images are trimmed (documentation except
 * copyright files, man and info pages, locales, apt's lists and caches, logs), and empties /dev
 * (the runtime mounts its own).
 */
function trimRoot(root: string): void {
  const rmChildren = (dir: string, keep: (name: string) => boolean = () => false) => {
    const full = path.join(root, dir);
    if (!fs.existsSync(full)) return;
    for (const name of fs.readdirSync(full)) if (!keep(name)) fs.rmSync(path.join(full, name), { recursive: true, force: true });
  };
  const docs = path.join(root, 'usr/share/doc');
  if (fs.existsSync(docs)) {
    for (const pkg of fs.readdirSync(docs)) {
      const dir = path.join(docs, pkg);
      if (!fs.lstatSync(dir).isDirectory()) continue;
      for (const name of fs.readdirSync(dir)) if (name !== 'copyright') fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
  for (const dir of ['usr/share/man', 'usr/share/info', 'usr/share/groff', 'usr/share/lintian', 'usr/share/linda', 'var/lib/apt/lists', 'var/cache/apt', 'var/cache/debconf', 'var/log', 'tmp', 'dev', 'run']) {
    rmChildren(dir, name => dir === 'var/lib/apt/lists' && name === 'partial');
  }
  rmChildren('usr/share/locale', name => name === 'locale.alias');
  fs.rmSync(path.join(root, 'debootstrap'), { recursive: true, force: true });
}

/**
 * A layer with a minimal Debian root file system (`debootstrap --variant=minbase` from the mirror
 * apt uses, slim-trimmed), built once per suite, package list and revision (about a minute).
 * Not bit-reproducible across builds (the mirror moves on): the cache is what keeps it stable.
 */
export async function debianRootLayer(options: DebianRootOptions = {}): Promise<Layer & { cached: boolean }> {
  const suite = options.suite ?? 'bookworm';
  const packages = [...(options.packages ?? [])].sort();
  const mirror = debianMirror();
  const removePaths = [...(options.removePaths ?? [])].sort();
  const key = `debian-${suite}-minbase-${sha256Hex(
    JSON.stringify({ packages, mirror, revision: options.revision ?? 1, ...(removePaths.length ? { removePaths } : {}) }),
  ).slice(0, 16)}`;
  return cachedLayer(key, async () => {
    const work = makeWorkDir('debian');
    const root = path.join(work, 'root');
    try {
      execFileSync(
        'debootstrap',
        ['--variant=minbase', ...(packages.length ? [`--include=${packages.join(',')}`] : []), suite, root, mirror],
        { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
      );
      trimRoot(root);
      for (const removed of removePaths) {
        const full = path.resolve(root, removed);
        if (!full.startsWith(`${root}/`)) throw new Error(`removePaths: ${removed} is outside the root file system`);
        fs.rmSync(full, { recursive: true, force: true });
      }
      return await layerFromDirectory(root, { keepOwners: true });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-5).join('\n');
      throw new Error(`debootstrap of Debian ${suite} from ${mirror} failed${stderr ? `: ${stderr}` : ''}`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}
