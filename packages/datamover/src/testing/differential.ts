import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppLock, Repository, collectGarbage, deleteBackup, newBackupId, verifyRepository } from '@ferry/repository';
import type { TestTargetKind } from '@ferry/repository/src/testing/testTargets';
import { imageDifferences } from '@ferry/qcow2/src/testing/imageDifferences';
import { qemuCheck, qemuIdentical } from '@ferry/qcow2/src/testing/qemu';
import { FS_BLOCK, changedVolume, randomResize, randomVolume, writeSparseVolume } from '@ferry/qcow2/src/testing/sparseVolume';
import { prng, randomInt } from '@ferry/qcow2/src/testing/volumes';
import { backupVolume } from '../volume/backupVolume';
import type { ByteRange } from '../volume/changedRanges';
import { restoreVolume } from '../volume/restoreVolume';
import { DatamoverError } from '../errors';
import { objectFile } from './objectFile';

const KiB = 1024;
const MiB = 1024 * KiB;
const APP = 'soak';
const PVC = 'vol';

/** What one round did (its seed and target reproduce it). */
export interface DatamoverRoundReport {
  seed: number;
  clusterSize: number;
  /** Per backup taken: volume bytes, full or incremental, whether changed ranges (CBT) were given. */
  backups: Array<{ size: number; kind: 'full' | 'incremental'; cbt: boolean }>;
  /** Incrementals refused because the volume was resized (a full backup followed). */
  refusedResizes: number;
  /** Index of the backup deleted before the second round of restores. */
  deleted: number;
  /** Comparisons made, all equal. */
  checks: number;
}

/**
 * One seeded round of the datamover's volume path through a real repository: a random sparse
 * volume (holes, explicit zeros, data; any number of sectors) and 1 to 5 later states, each
 * backed up with `backupVolume` (full, then incrementals from the digest index; changed ranges
 * given as CBT would, sometimes over-reported, for 2 incrementals in 5; a random cluster size
 * and read chunk) and committed. A state whose size changed must be refused as an incremental
 * (`PARENT_UNUSABLE`) and is then backed up in full. Checks per backup: the changed cluster
 * count equals an independent count from the two states; the stored image passes `qemu-img
 * check`, equals the state (`qemu-img compare`) and stores only what changed. Then every backup
 * restores byte-exact (with read-back verification); after one random backup is deleted the
 * others still do, `verifyRepository` finds no problem and garbage collection has nothing to
 * remove.
 *
 * Throws an error naming the seed and the step on the first difference.
 */
export async function datamoverRound(o: {
  seed: number;
  repo: Repository;
  /** An empty directory for the volumes and restores. */
  dir: string;
  /** The local file holding a stored object (for qemu-img). */
  storedFile: (key: string) => string;
  /** Largest volume; 48 MiB by default. */
  maxBytes?: number;
}): Promise<DatamoverRoundReport> {
  const { seed, repo, dir } = o;
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[randomInt(random, 0, items.length - 1)];
  const clusterSize = 2 ** randomInt(random, 12, 21);
  const report: DatamoverRoundReport = { seed, clusterSize, backups: [], refusedResizes: 0, deleted: -1, checks: 0 };
  const expectTrue = (step: string, ok: boolean) => {
    if (!ok) throw new Error(`seed ${seed}, ${step} (${JSON.stringify(report)})`);
    report.checks++;
  };
  const maxBytes = o.maxBytes ?? 48 * MiB;
  let volume = randomVolume({ random, maxBytes });
  const taken: Array<{ id: string; bytes: Uint8Array }> = [];
  const count = randomInt(random, 2, 6);
  let parent: { id: string; bytes: Uint8Array } | undefined;
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      const resize = randomResize({ random, size: volume.bytes.length, maxBytes });
      volume = changedVolume({ random, previous: volume, resize });
    }
    const step = `backup ${i}`;
    const device = path.join(dir, `state${i}.raw`);
    await writeSparseVolume(device, volume);
    const backupId = newBackupId(new Date(Date.UTC(2026, 0, 1, 0, i)));
    const chunkBytes = pick([clusterSize, MiB, 4 * MiB]);
    if (parent && parent.bytes.length !== volume.bytes.length) {
      const refused = await backupVolume({ repo, app: APP, pvc: PVC, backupId, parentBackupId: parent.id, device, clusterSize }).catch(
        (e: unknown) => e,
      );
      expectTrue(`${step}: an incremental of a resized volume is refused`, refused instanceof DatamoverError && refused.code === 'PARENT_UNUSABLE');
      report.refusedResizes++;
      parent = undefined;
    }
    const changedRanges = parent && random() < 0.4 ? changedRangesOf(parent.bytes, volume.bytes, random) : undefined;
    const result = await backupVolume({
      repo,
      app: APP,
      pvc: PVC,
      backupId,
      parentBackupId: parent?.id,
      device,
      clusterSize,
      chunkBytes,
      changedRanges,
    });
    const lock = await AppLock.acquire({ target: repo.target, app: APP });
    try {
      await repo.commitBackup({ app: APP, backupId, lock });
    } finally {
      await lock.release();
    }
    report.backups.push({ size: volume.bytes.length, kind: result.kind, cbt: Boolean(changedRanges) });
    expectTrue(`${step}: kind ${result.kind}`, result.kind === (parent ? 'incremental' : 'full'));
    if (parent) {
      const changed = changedClusters(parent.bytes, volume.bytes, clusterSize);
      expectTrue(`${step}: ${result.stats.changedClusters} changed clusters, ${changed} counted`, result.stats.changedClusters === changed);
    }
    const image = o.storedFile(result.image.key);
    const check = await qemuCheck(image);
    expectTrue(
      `${step}: qemu-img check ${JSON.stringify(check)}`,
      check.exitCode === 0 && check.report['check-errors'] === 0 && !check.report.corruptions && !check.report.leaks,
    );
    expectTrue(`${step}: qemu-img compare with the volume`, await qemuIdentical({ a: device, aFormat: 'raw', b: image, bFormat: 'qcow2' }));
    const wrong = await imageDifferences({ image, now: volume.bytes, before: parent?.bytes });
    expectTrue(`${step}: stored clusters ${wrong.join('; ')}`, wrong.length === 0);
    await fs.rm(device);
    parent = { id: backupId, bytes: volume.bytes };
    taken.push(parent);
  }

  const restoreAll = async (which: number[], when: string) => {
    for (const i of which) {
      const device = path.join(dir, `restored${i}.raw`);
      await restoreVolume({ repo, app: APP, pvc: PVC, backupId: taken[i].id, device, create: true, verifyAfter: true });
      const restored = await fs.readFile(device);
      expectTrue(`restore of backup ${i} ${when}`, restored.equals(Buffer.from(taken[i].bytes)));
      await fs.rm(device);
    }
  };
  const all = taken.map((_, i) => i);
  await restoreAll(all, 'after the backups');
  report.deleted = randomInt(random, 0, taken.length - 1);
  const lock = await AppLock.acquire({ target: repo.target, app: APP });
  try {
    await deleteBackup(repo, { app: APP, backupId: taken[report.deleted].id, lock });
  } finally {
    await lock.release();
  }
  await restoreAll(
    all.filter(i => i !== report.deleted),
    `after backup ${report.deleted} was deleted`,
  );
  const verified = await verifyRepository(repo, { app: APP });
  expectTrue(`verify: ${JSON.stringify(verified.problems)}`, verified.problems.length === 0);
  const garbage = await collectGarbage(repo, { app: APP, graceMs: 0 });
  expectTrue(`gc removes nothing a backup needs: ${garbage.deletedKeys.join(', ')}`, garbage.deletedKeys.length === 0);
  return report;
}

/**
 * {@link datamoverRound} on a fresh repository of a test target (set up by the caller), in a
 * fresh folder of its scratch space, removed when the round passes (kept when it fails).
 */
export async function datamoverRoundOn(kind: TestTargetKind, o: { seed: number; maxBytes: number }): Promise<DatamoverRoundReport> {
  const repo = await Repository.open(await kind.make(), { create: true });
  const dir = await fs.mkdtemp(path.join(kind.scratch, `round-${o.seed}-`));
  try {
    const report = await datamoverRound({
      ...o,
      repo,
      dir,
      storedFile: key => objectFile(repo.target, key, kind.server?.dataDir),
    });
    await fs.rm(dir, { recursive: true, force: true });
    return report;
  } finally {
    await repo.target.close();
  }
}

/** Clusters whose bytes differ between two volumes of the same size. */
function changedClusters(before: Uint8Array, now: Uint8Array, clusterSize: number): number {
  let changed = 0;
  for (let at = 0; at < now.length; at += clusterSize) {
    const end = Math.min(at + clusterSize, now.length);
    if (!Buffer.from(now.subarray(at, end)).equals(Buffer.from(before.subarray(at, end)))) changed++;
  }
  return changed;
}

/**
 * The ranges CBT would report between two volumes of the same size: every changed file system
 * block, in random order, sometimes with unchanged ranges added (CBT may over-report).
 */
function changedRangesOf(before: Uint8Array, now: Uint8Array, random: () => number): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (let at = 0; at < now.length; at += FS_BLOCK) {
    const end = Math.min(at + FS_BLOCK, now.length);
    if (!Buffer.from(now.subarray(at, end)).equals(Buffer.from(before.subarray(at, end)))) {
      const last = ranges[ranges.length - 1];
      if (last && last.offset + last.length === at) last.length += end - at;
      else ranges.push({ offset: at, length: end - at });
    }
  }
  if (random() < 0.3) {
    for (let extra = randomInt(random, 1, 5); extra > 0; extra--) {
      const length = randomInt(random, 1, Math.min(now.length, 256 * KiB));
      ranges.push({ offset: randomInt(random, 0, now.length - length), length });
    }
  }
  // In random order (Fisher–Yates): CBT output may come in any order.
  for (let i = ranges.length - 1; i > 0; i--) {
    const j = randomInt(random, 0, i);
    [ranges[i], ranges[j]] = [ranges[j], ranges[i]];
  }
  return ranges;
}
