import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sparseCopy } from './sparseCopy';

export type AccessType = 'block' | 'mount' | 'mixed';

export type VolumeRecord = {
  id: string;
  name: string;
  capacityBytes: number;
  /** What CreateVolume was asked for (decides whether expansion needs the node). */
  accessType: AccessType;
  source?: { kind: 'snapshot' | 'volume'; id: string };
  createdAt: string;
};

export type SnapshotRecord = {
  id: string;
  name: string;
  sourceVolumeId: string;
  sizeBytes: number;
  /** Milliseconds since the epoch. */
  createdAtMs: number;
};

const volumeIdPattern = /^vol-[0-9a-f]{32}$/;
const snapshotIdPattern = /^snap-[0-9a-f]{32}$/;

const idFor = (prefix: string, name: string) => `${prefix}-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;

function writeJsonAtomic(file: string, value: unknown) {
  const temporary = `${file}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * The storage back end (the part a cloud provides): every volume is a sparse file
 * `<root>/volumes/<id>.img` with its record `<id>.json`, every snapshot a point-in-time sparse
 * copy `<root>/snapshots/<id>.img` (+ `.json`). IDs derive from the CSI names (sha-256), so a
 * repeated CreateVolume/CreateSnapshot finds its earlier result. The record is written last: a
 * volume without one does not exist.
 */
export class VolumeFiles {
  readonly volumesDir: string;
  readonly snapshotsDir: string;

  constructor(readonly root: string) {
    this.volumesDir = path.join(root, 'volumes');
    this.snapshotsDir = path.join(root, 'snapshots');
    fs.mkdirSync(this.volumesDir, { recursive: true });
    fs.mkdirSync(this.snapshotsDir, { recursive: true });
  }

  static volumeIdFor(name: string): string {
    return idFor('vol', name);
  }

  static snapshotIdFor(name: string): string {
    return idFor('snap', name);
  }

  volumeFile(id: string): string {
    if (!volumeIdPattern.test(id)) throw new Error(`volume id ${id} is not one of this driver's`);
    return path.join(this.volumesDir, `${id}.img`);
  }

  snapshotFile(id: string): string {
    if (!snapshotIdPattern.test(id)) throw new Error(`snapshot id ${id} is not one of this driver's`);
    return path.join(this.snapshotsDir, `${id}.img`);
  }

  getVolume(id: string): VolumeRecord | undefined {
    if (!volumeIdPattern.test(id)) return undefined;
    return readJson<VolumeRecord>(path.join(this.volumesDir, `${id}.json`));
  }

  getSnapshot(id: string): SnapshotRecord | undefined {
    if (!snapshotIdPattern.test(id)) return undefined;
    return readJson<SnapshotRecord>(path.join(this.snapshotsDir, `${id}.json`));
  }

  listVolumes(): VolumeRecord[] {
    return listRecords<VolumeRecord>(this.volumesDir);
  }

  listSnapshots(): SnapshotRecord[] {
    return listRecords<SnapshotRecord>(this.snapshotsDir);
  }

  /** Creates the volume's file (empty, or a copy of `copyFrom` grown to its capacity), then its record. */
  async createVolume(record: VolumeRecord, copyFrom?: string): Promise<void> {
    const file = this.volumeFile(record.id);
    const temporary = `${file}.creating`;
    await fs.promises.rm(temporary, { force: true });
    if (copyFrom) await sparseCopy(copyFrom, temporary);
    else await fs.promises.writeFile(temporary, '');
    const { size } = await fs.promises.stat(temporary);
    if (record.capacityBytes > size) await fs.promises.truncate(temporary, record.capacityBytes);
    await fs.promises.rename(temporary, file);
    writeJsonAtomic(path.join(this.volumesDir, `${record.id}.json`), record);
  }

  async deleteVolume(id: string): Promise<void> {
    await fs.promises.rm(path.join(this.volumesDir, `${id}.json`), { force: true });
    await fs.promises.rm(this.volumeFile(id), { force: true });
  }

  /** Grows the volume's file (never shrinks) and its recorded capacity. */
  async growVolume(id: string, capacityBytes: number): Promise<VolumeRecord> {
    const record = this.getVolume(id);
    if (!record) throw new Error(`volume ${id} does not exist`);
    const file = this.volumeFile(id);
    const { size } = await fs.promises.stat(file);
    if (capacityBytes > size) await fs.promises.truncate(file, capacityBytes);
    const updated = { ...record, capacityBytes: Math.max(record.capacityBytes, capacityBytes) };
    writeJsonAtomic(path.join(this.volumesDir, `${id}.json`), updated);
    return updated;
  }

  /** Copies the volume's file as it is now (the caller quiesces writers first). */
  async createSnapshot(record: SnapshotRecord): Promise<void> {
    const file = this.snapshotFile(record.id);
    const temporary = `${file}.creating`;
    await fs.promises.rm(temporary, { force: true });
    await sparseCopy(this.volumeFile(record.sourceVolumeId), temporary);
    await fs.promises.rename(temporary, file);
    writeJsonAtomic(path.join(this.snapshotsDir, `${record.id}.json`), record);
  }

  async deleteSnapshot(id: string): Promise<void> {
    await fs.promises.rm(path.join(this.snapshotsDir, `${id}.json`), { force: true });
    await fs.promises.rm(this.snapshotFile(id), { force: true });
  }

  /** Free bytes of the file system holding the volumes. */
  async availableBytes(): Promise<number> {
    const stats = await fs.promises.statfs(this.volumesDir);
    return stats.bavail * stats.bsize;
  }
}

function listRecords<T extends { id: string }>(dir: string): T[] {
  return fs
    .readdirSync(dir)
    .filter(name => name.endsWith('.json'))
    .map(name => readJson<T>(path.join(dir, name)))
    .filter((record): record is T => record !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
}
