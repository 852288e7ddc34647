import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '../format/errors';

/**
 * Read-only memory mappings of local files (`native/file_mapping.c`, built by
 * `native/build.sh`). Node has no mmap; reading a volume with `read` copies every byte out of
 * the page cache, which was half the CPU time of a scan. See the README, "Mapped reads".
 */
export interface FileMapping {
  /** The addon's path (worker threads load it again from there). */
  readonly path: string;
  /**
   * Maps `length` bytes of `fd` from `offset` (inside the file or device), with every page
   * faulted in unless `populate` is false. Use the bytes at once and {@link unmap} them: a
   * file truncated meanwhile raises SIGBUS.
   */
  map(
    fd: number,
    offset: number,
    length: number,
    populate?: boolean,
  ): ArrayBuffer;
  /** Faults in the pages of bytes [start, start + length) of a mapping. */
  populate(buffer: ArrayBuffer, start: number, length: number): void;
  /** Drops those pages from the process's memory (RSS); reading them faults them back in. */
  release(buffer: ArrayBuffer, start: number, length: number): void;
  /** Detaches the buffer (its views become empty) and unmaps it. */
  unmap(buffer: ArrayBuffer): void;
}

/** Where `native/build.sh` puts the addon, when this package is installed (not in a bundle). */
function builtPath(): string | undefined {
  try {
    const manifest = require.resolve('@ferry/qcow2/package.json');
    return path.join(path.dirname(manifest), 'native/build/file_mapping.node');
  } catch {
    return undefined;
  }
}

let loaded: { mapping?: FileMapping } | undefined;

/**
 * The file mapping addon, or undefined when it is not built. `FERRY_FILE_MAPPING` names
 * another path (a bundle, a container image) or turns mappings off (`off`); a path given there
 * must load.
 */
export function fileMapping(): FileMapping | undefined {
  if (!loaded)
    loaded = { mapping: loadFileMapping(process.env.FERRY_FILE_MAPPING) };
  return loaded.mapping;
}

/** Loads the addon from `setting` (a path, `off`, or unset for the built one). */
export function loadFileMapping(setting?: string): FileMapping | undefined {
  if (setting === 'off') return undefined;
  const file = setting ? path.resolve(setting) : builtPath();
  if (!file || (!setting && !existsSync(file))) return undefined;
  const module = { exports: {} as Omit<FileMapping, 'path'> };
  try {
    process.dlopen(module, file);
  } catch (error) {
    throw invalidArgument(
      `FERRY_FILE_MAPPING: cannot load ${file}: ${(error as Error).message}`,
    );
  }
  const { map, populate, release, unmap } = module.exports;
  return { path: file, map, populate, release, unmap };
}

/**
 * The mapping for a pass over `source`: the addon when it is built, `wanted` is not false and
 * the source is a local file (it has a descriptor), else undefined (the pass reads).
 */
export function mappingFor(
  source: { fd?: number },
  wanted?: boolean,
): FileMapping | undefined {
  return wanted === false || source.fd === undefined
    ? undefined
    : fileMapping();
}

/**
 * Calls `use` with the bytes of `fd` from `offset` to `offset + length`, mapped, and unmaps
 * them when `use` has settled (the buffer must not be kept).
 */
export async function withMappedBytes<T>(
  mapping: FileMapping,
  range: { fd: number; offset: number; length: number },
  use: (bytes: Buffer) => Promise<T>,
): Promise<T> {
  const mapped = mapping.map(range.fd, range.offset, range.length);
  try {
    return await use(Buffer.from(mapped));
  } finally {
    mapping.unmap(mapped);
  }
}
