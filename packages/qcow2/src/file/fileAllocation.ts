import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import type { ByteRange } from '../plan/segments';

const run = promisify(execFile);

/**
 * The allocated ranges of a sparse regular file, asked from the file system (FIEMAP, through
 * `filefrag -e -s` of Debian's e2fsprogs, which syncs the file first so delayed allocations are
 * counted). Node has no `lseek(SEEK_DATA)`, which is how qemu-img skips holes. Returns undefined
 * (read everything) when the tool is missing, the file system cannot say, or the output is not
 * understood: a wrong answer would lose data, so any doubt means "read it all". Block devices
 * have no holes; there the allocation comes from CSI GetMetadataAllocated, when available.
 *
 * A regular file whose blocks cover its size (`stat`; ext4 and XFS count delayed allocations
 * too) has no hole worth asking about: the whole file is one range, without starting
 * `filefrag` (about 8 ms). Were a hole hidden by blocks kept past the end, it would only be
 * read as zeros.
 */
export async function fileAllocation(options: {
  path: string;
}): Promise<ByteRange[] | undefined> {
  // Regular files only: a device's stat says 0 bytes, which must never mean "no data".
  const stat = await fs.stat(options.path);
  if (stat.isFile() && stat.blocks * 512 >= stat.size)
    return stat.size > 0 ? [{ offset: 0, length: stat.size }] : [];
  let stdout: string;
  try {
    ({ stdout } = await run('filefrag', ['-e', '-s', options.path], {
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, LC_ALL: 'C' },
    }));
  } catch {
    return undefined;
  }
  return parseFilefrag(stdout);
}

/** Parses `filefrag -e` output; undefined unless every line is understood. */
export function parseFilefrag(output: string): ByteRange[] | undefined {
  const lines = output.split('\n');
  const sizeLine = lines.find(line => line.startsWith('File size of '));
  const blockMatch = sizeLine?.match(
    / is (\d+) \((\d+) blocks? of (\d+) bytes\)$/,
  );
  if (!blockMatch) return undefined;
  const fileSize = Number(blockMatch[1]);
  const blockSize = Number(blockMatch[3]);
  const ranges: ByteRange[] = [];
  let sawLast = false;
  let expectIndex = 0;
  let sawTable = false;
  for (const line of lines) {
    if (/^\s*ext:\s+logical_offset:/.test(line)) {
      sawTable = true;
      continue;
    }
    const extent = line.match(
      /^\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+):\s*(\d*):?\s*(.*)$/,
    );
    if (!extent) continue;
    if (Number(extent[1]) !== expectIndex++) return undefined;
    const first = Number(extent[2]);
    const last = Number(extent[3]);
    if (!(last >= first)) return undefined;
    ranges.push({
      offset: first * blockSize,
      length: (last - first + 1) * blockSize,
    });
    if (/\blast\b/.test(extent[8])) sawLast = true;
  }
  const summary = lines.find(line => / extents? found$/.test(line));
  if (!sawTable || !summary) return undefined;
  if (ranges.length > 0 && !sawLast) return undefined;
  if (ranges.length === 0 && fileSize > 0 && !/ 0 extents found$/.test(summary))
    return undefined;
  return ranges;
}
