import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir } from '../testing/tempDir';
import { FileSink } from './FileSink';

const openDescriptors = async () => (await fs.readdir('/proc/self/fd')).length;

describe('FileSink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('file-sink');
  });
  afterEach(() => removeDir(dir));

  it('refuses to replace an existing file without overwrite: the file is kept, the temporary file removed, no descriptor left open', async () => {
    const target = path.join(dir, 'image.qcow2');
    await fs.writeFile(target, 'stored before');
    const before = await openDescriptors();
    const sink = await FileSink.create({ path: target });
    await sink.reserveHead(4);
    await sink.write(new Uint8Array([1, 2, 3]), 4);
    await sink.write(new Uint8Array([9, 9, 9, 9]), 0);
    await expect(sink.commit()).rejects.toThrow(/EEXIST/);
    expect(await fs.readFile(target, 'utf8')).toBe('stored before');
    expect(await fs.readdir(dir)).toEqual(['image.qcow2']);
    expect(await openDescriptors()).toBe(before);
  });

  it('with overwrite, replaces the file by the new one in one rename', async () => {
    const target = path.join(dir, 'image.qcow2');
    await fs.writeFile(target, 'old');
    const sink = await FileSink.create({ path: target, overwrite: true });
    await sink.reserveHead(2);
    await sink.write(new Uint8Array([7, 8]), 2);
    await sink.write(new Uint8Array([5, 6]), 0);
    expect(await sink.commit()).toEqual({ size: 4 });
    expect([...(await fs.readFile(target))]).toEqual([5, 6, 7, 8]);
    expect(await fs.readdir(dir)).toEqual(['image.qcow2']);
  });
});
