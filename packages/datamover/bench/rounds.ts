/**
 * One round of each row group. Both sides of a row run in the same round, in alternating order,
 * each right after `sync` and a read of its inputs into the page cache.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { dropDevice, freshDevice, sameBytes, warm, warmSparse, type LoopDevice } from './devices';
import { run, sumOf, type Measurement } from './measure';
import {
  commit,
  ferryBackup,
  ferryRestore,
  filesUnder,
  folderTarget,
  plainS3,
  qemu,
  s3Target,
  type S3Access,
} from './steps';
import { row } from './table';

/** The volume states 0..5 of one workload, as files and (for the block-device rows) devices. */
export interface Workload {
  label: string;
  dir: string;
  size: number;
  files: string[];
  devices: LoopDevice[];
  /**
   * The page cache before each side: `warm` reads the inputs into it; `cold` empties it (sync,
   * drop_caches), as a datamover Job finds a volume just provisioned from a snapshot; `as-is`
   * does neither (volumes larger than memory).
   */
  cache: 'warm' | 'cold' | 'as-is';
}

const log = (message: string) => process.stderr.write(`  ${message}\n`);

async function prepare(w: Workload, inputs: string[]): Promise<void> {
  await run('sync', []);
  if (w.cache === 'cold') await fs.writeFile('/proc/sys/vm/drop_caches', '3');
  if (w.cache !== 'warm') return;
  for (const input of inputs) {
    // a device into its page cache, which qemu-img reads; the datamover bypasses it (O_DIRECT)
    if (input.startsWith('/dev/')) await warm(input);
    else await warmSparse(input);
  }
}

/** Runs both sides in the round's order; `ferry` and `ref` return their measurement. */
async function pair(o: {
  round: number;
  w: Workload;
  inputs: () => Promise<string[]>;
  ferry: () => Promise<Measurement>;
  ref: () => Promise<Measurement>;
  name: string;
}): Promise<[Measurement, Measurement]> {
  let a!: Measurement;
  let b!: Measurement;
  const doFerry = async () => {
    await prepare(o.w, await o.inputs());
    a = await o.ferry();
  };
  const doRef = async () => {
    await prepare(o.w, await o.inputs());
    b = await o.ref();
  };
  if (o.round % 2 === 0) {
    await doFerry();
    await doRef();
  } else {
    await doRef();
    await doFerry();
  }
  log(`${o.name}: ferry ${a.seconds.toFixed(2)} s (${a.cpuSeconds.toFixed(2)} CPU s), reference ${b.seconds.toFixed(2)} s (${b.cpuSeconds.toFixed(2)} CPU s)`);
  return [a, b];
}

export interface FolderRound {
  /** Backup ids of states 0..5 in the folder repository. */
  ids: string[];
  repo: string;
  /** The image files of states 0..5. */
  images: string[];
}

/**
 * Full backup, 5 incrementals and the restore of the chain of 6, to a folder, against qemu-img
 * (convert; create -b + rebase; convert -O raw). `source` says what both tools read: the block
 * devices or the sparse files (qemu-img then skips holes, the datamover reads every byte).
 */
export async function folderRound(o: {
  w: Workload;
  round: number;
  source: 'device' | 'file';
  restore: boolean;
  firstReads: number[];
}): Promise<FolderRound> {
  const { w, round } = o;
  const input = (i: number) => (o.source === 'device' ? w.devices[i].path : w.files[i]);
  const how = o.source === 'device' ? 'block device' : 'sparse file (qemu-img skips holes)';
  const app = o.source === 'device' ? 'bench' : 'bench-sparse';
  const repo = path.join(w.dir, `repo-${o.source}`);
  const q = path.join(w.dir, `qemu-${o.source}`);
  await fs.rm(repo, { recursive: true, force: true });
  await fs.rm(q, { recursive: true, force: true });
  await fs.mkdir(q, { recursive: true });
  const target = folderTarget(repo);
  const ids: string[] = [];
  const images: string[] = [];
  const qImage = (i: number) => path.join(q, `b${i}.qcow2`);
  const repoFiles = () => filesUnder(repo);
  for (let i = 0; i < 6; i++) {
    const name = i === 0 ? `${w.label} full backup → folder, ${how}` : `${w.label} incremental → folder (per overlay), ${how}`;
    const r = i === 0 ? row(name, 'qemu-img convert -O qcow2', o.source === 'device' ? 1.0 : undefined) : row(name, 'qemu-img create -b + rebase', o.source === 'device' ? 0.5 : undefined);
    let imageSize = 0;
    const [a, b] = await pair({
      round,
      w,
      name: `${name} (${i})`,
      inputs: async () => [input(i), ...(i > 0 ? [...(await repoFiles()).filter(f => f.endsWith('.index')), ...[...Array(i).keys()].map(qImage)] : [])],
      ferry: async () => {
        const step = await ferryBackup({ target, app, device: input(i), parent: ids[i - 1] });
        ids.push(step.result.backupId);
        imageSize = step.result.image.size;
        images.push(path.join(repo, step.result.image.key));
        if (step.result.timings.firstReadMs !== undefined && i === 0) o.firstReads.push(step.result.timings.firstReadMs);
        return step.m;
      },
      ref: async () => {
        if (i === 0) return qemu(['convert', '-f', 'raw', '-O', 'qcow2', input(0), qImage(0)]);
        const created = await qemu(['create', '-q', '-f', 'qcow2', '-b', input(i), '-F', 'raw', qImage(i)]);
        const rebased = await qemu(['rebase', '-f', 'qcow2', '-b', `b${i - 1}.qcow2`, '-F', 'qcow2', qImage(i)]);
        return sumOf([created, rebased]);
      },
    });
    await commit({ target, app, id: ids[i] });
    r.ferry.push(a);
    r.ref.push(b);
    if (round === 0) {
      // stored bytes: the full image, or the mean overlay
      const share = i === 0 ? 1 : 5;
      r.ferryBytes = (r.ferryBytes ?? 0) + imageSize / share;
      r.refBytes = (r.refBytes ?? 0) + (await fs.stat(qImage(i))).size / share;
    }
  }
  if (o.restore) await folderRestore({ ...o, ids, repo, q, target, app });
  return { ids, repo, images };
}

async function folderRestore(o: {
  w: Workload;
  round: number;
  ids: string[];
  repo: string;
  q: string;
  target: NodeJS.ProcessEnv;
  app: string;
}): Promise<void> {
  const { w } = o;
  const name = `${w.label} restore of the chain of 6 ← folder → block device`;
  const r = row(name, 'qemu-img convert -O raw → block device', 1.0);
  let device: LoopDevice | undefined;
  const [a, b] = await pair({
    round: o.round,
    w,
    name,
    inputs: async () => [...(await filesUnder(o.repo)), ...(await filesUnder(o.q))],
    ferry: async () => {
      device = await freshDevice(path.join(w.dir, 'restore-ferry.raw'), w.size);
      try {
        const m = await ferryRestore({ target: o.target, app: o.app, id: o.ids[5], device: device.path });
        if (o.round === 0 && w.cache !== 'as-is' && !(await sameBytes(device.path, w.devices[5].path, w.size))) {
          throw new Error('the datamover restore differs from state 5');
        }
        return m;
      } finally {
        await dropDevice(device);
      }
    },
    ref: async () => {
      device = await freshDevice(path.join(w.dir, 'restore-qemu.raw'), w.size);
      try {
        return await qemu(['convert', '-f', 'qcow2', '-O', 'raw', path.join(o.q, 'b5.qcow2'), device.path]);
      } finally {
        await dropDevice(device);
      }
    },
  });
  r.ferry.push(a);
  r.ref.push(b);
}

/**
 * Full backup, 5 incrementals and the restore to and from S3, against lib-storage uploading the
 * same image bytes (the folder round's images) and one GetObject of the raw volume.
 */
export async function s3Round(o: { w: Workload; round: number; s3: S3Access; folder: FolderRound; rawKey: string }): Promise<void> {
  const { w, round, s3 } = o;
  const prefix = `r${round}`;
  const target = s3Target(s3, prefix);
  const bucketDir = path.join(s3.dataDir, s3.bucket);
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const name = i === 0 ? `${w.label} full backup → S3, block device` : `${w.label} incremental → S3 (per overlay), block device`;
    const r = i === 0 ? row(name, 'lib-storage Upload of the same image bytes', 1.1) : row(name, 'lib-storage Upload of the same overlay bytes');
    const [a, b] = await pair({
      round,
      w,
      name: `${name} (${i})`,
      inputs: async () => [w.devices[i].path, o.folder.images[i], ...(await filesUnder(path.join(bucketDir, prefix))).filter(f => f.endsWith('.index'))],
      ferry: async () => {
        const step = await ferryBackup({ target, app: 'bench', device: w.devices[i].path, parent: ids[i - 1], server: true });
        ids.push(step.result.backupId);
        return step.m;
      },
      ref: () => plainS3({ s3, op: 'upload', file: o.folder.images[i], key: `plain/${prefix}/${i}.qcow2` }),
    });
    await commit({ target, app: 'bench', id: ids[i] });
    r.ferry.push(a);
    r.ref.push(b);
  }
  const name = `${w.label} restore of the chain of 6 ← S3 → block device`;
  const r = row(name, 'GetObject of the raw volume → block device', 0.5);
  const [a, b] = await pair({
    round,
    w,
    name,
    inputs: async () => [...(await filesUnder(path.join(bucketDir, prefix))), path.join(bucketDir, o.rawKey)],
    ferry: async () => {
      const device = await freshDevice(path.join(w.dir, 'restore-ferry.raw'), w.size);
      try {
        const m = await ferryRestore({ target, app: 'bench', id: ids[5], device: device.path, server: true });
        if (round === 0 && w.cache !== 'as-is' && !(await sameBytes(device.path, w.devices[5].path, w.size))) {
          throw new Error('the datamover restore from S3 differs from state 5');
        }
        return m;
      } finally {
        await dropDevice(device);
      }
    },
    ref: async () => {
      const device = await freshDevice(path.join(w.dir, 'restore-ref.raw'), w.size);
      try {
        return await plainS3({ s3, op: 'download', file: device.path, key: o.rawKey });
      } finally {
        await dropDevice(device);
      }
    },
  });
  r.ferry.push(a);
  r.ref.push(b);
}

/**
 * The flat-memory check on a large sparse volume (no reference tool: reading it whole through a
 * loop device takes minutes for each side): the datamover's full backup of state 0, an
 * incremental of state 1 and the restore of that chain of 2 into a fresh device, each its own
 * process; peak RSS is what the row is for.
 */
export async function bigRound(o: { w: Workload }): Promise<void> {
  const { w } = o;
  const repo = path.join(w.dir, 'repo-big');
  await fs.rm(repo, { recursive: true, force: true });
  const target = folderTarget(repo);
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    await run('sync', []);
    const step = await ferryBackup({ target, app: 'bench', device: w.devices[i].path, parent: ids[i - 1] });
    ids.push(step.result.backupId);
    await commit({ target, app: 'bench', id: step.result.backupId });
    const r = row(`${w.label} ${i === 0 ? 'full backup' : 'incremental'} → folder, block device (datamover only)`, '–');
    r.ferry.push(step.m);
    r.ref.push(step.m);
    r.ferryBytes = step.result.image.size;
    log(`${r.name}: ${step.m.seconds.toFixed(1)} s, ${step.m.cpuSeconds.toFixed(2)} CPU s, peak RSS ${step.m.maxRssMiB.toFixed(0)} MiB`);
  }
  const device = await freshDevice(path.join(w.dir, 'restore-big.raw'), w.size);
  try {
    const m = await ferryRestore({ target, app: 'bench', id: ids[1], device: device.path });
    const r = row(`${w.label} restore of the chain of 2 ← folder → block device (datamover only)`, '–');
    r.ferry.push(m);
    r.ref.push(m);
    log(`${r.name}: ${m.seconds.toFixed(1)} s, ${m.cpuSeconds.toFixed(2)} CPU s, peak RSS ${m.maxRssMiB.toFixed(0)} MiB`);
  } finally {
    await dropDevice(device);
  }
}
