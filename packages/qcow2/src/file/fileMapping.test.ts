import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Qcow2Error } from '../format/errors';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { builtMapping } from '../testing/mapping';
import { fillRandom, prng } from '../testing/volumes';
import {
  fileMapping,
  loadFileMapping,
  mappingFor,
  withMappedBytes,
} from './fileMapping';

describe('fileMapping', () => {
  let dir: string;
  let file: string;
  const bytes = new Uint8Array(3 * 4096 + 1000);
  let handle: fs.FileHandle;
  beforeAll(async () => {
    dir = await makeTempDir('mapping');
    file = path.join(dir, 'volume.raw');
    fillRandom(prng(9), bytes);
    await fs.writeFile(file, bytes);
    handle = await fs.open(file, 'r');
  });
  afterAll(async () => {
    await handle.close();
    await removeDir(dir);
  });

  it('maps any range inside the file, at any offset, and unmapping empties every view', () => {
    const mapping = builtMapping();
    for (const [offset, length] of [
      [0, bytes.length],
      [4096, 4096],
      [5000, 7000], // not page-aligned, up to the last byte of the file
      [bytes.length - 1, 1],
    ]) {
      const mapped = mapping.map(handle.fd, offset, length);
      const view = Buffer.from(mapped);
      expect(view.equals(bytes.subarray(offset, offset + length))).toBe(true);
      mapping.unmap(mapped);
      expect(mapped.byteLength).toBe(0);
      expect(view.length).toBe(0);
    }
  });

  it('refuses ranges past the end, bad arguments and buffers it did not map, naming them', async () => {
    const mapping = builtMapping();
    expect(() => mapping.map(handle.fd, 4096, bytes.length)).toThrow(
      `offset 4096 + length ${bytes.length} is past the end of the file (${bytes.length} bytes)`,
    );
    expect(() => mapping.map(handle.fd, -1, 10)).toThrow(
      'offset must be a non-negative integer',
    );
    expect(() => mapping.map(handle.fd, 0, 1.5)).toThrow(
      'length must be a positive integer',
    );
    expect(() => mapping.map(handle.fd, 0, 0)).toThrow(
      'length must be a positive integer',
    );
    expect(() => mapping.map(-3, 0, 10)).toThrow(
      'fd must be an open file descriptor',
    );
    const closed = await fs.open(file, 'r');
    const fd = closed.fd;
    await closed.close();
    let failure: NodeJS.ErrnoException | undefined;
    try {
      mapping.map(fd, 0, 10);
    } catch (error) {
      failure = error as NodeJS.ErrnoException;
    }
    expect(failure?.code).toBe('EBADF');
    expect(failure?.message).toContain('fstat failed');
    expect(() => mapping.unmap(new ArrayBuffer(8))).toThrow(
      'buffer is not a mapping made by map',
    );
    const mapped = mapping.map(handle.fd, 0, 100);
    mapping.unmap(mapped);
    expect(() => mapping.unmap(mapped)).toThrow('buffer was already unmapped');
  });

  it('maps a directory or other non-file as ENODEV', async () => {
    const mapping = builtMapping();
    const directory = await fs.open(dir, 'r');
    try {
      expect(() => mapping.map(directory.fd, 0, 10)).toThrow(
        expect.objectContaining({ code: 'ENODEV' }),
      );
    } finally {
      await directory.close();
    }
  });

  it('withMappedBytes unmaps when the use fails', async () => {
    const mapping = builtMapping();
    let seen: Buffer | undefined;
    await expect(
      withMappedBytes(
        mapping,
        { fd: handle.fd, offset: 100, length: 50 },
        async view => {
          seen = view;
          expect(view.equals(bytes.subarray(100, 150))).toBe(true);
          throw new Error('use failed');
        },
      ),
    ).rejects.toThrow('use failed');
    expect(seen?.length).toBe(0);
  });

  it('loads the built addon by default, none with "off", and names FERRY_FILE_MAPPING when a given path fails', () => {
    expect(fileMapping()?.path).toBe(builtMapping().path);
    expect(loadFileMapping('off')).toBeUndefined();
    const missing = path.join(dir, 'missing.node');
    let failure: unknown;
    try {
      loadFileMapping(missing);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(Qcow2Error);
    expect((failure as Qcow2Error).message).toContain(
      `FERRY_FILE_MAPPING: cannot load ${missing}`,
    );
  });

  it('is used for sources with a descriptor unless turned off', () => {
    expect(mappingFor({ fd: handle.fd })).toBeDefined();
    expect(mappingFor({ fd: handle.fd }, false)).toBeUndefined();
    expect(mappingFor({})).toBeUndefined();
  });
});
