import { createHash } from 'node:crypto';
import { Qcow2Image } from '@ferry/qcow2';
import { KeyUnavailableError, RepositoryError } from '../errors';
import { layout, parseBackupKey, parseVolumeKey } from '../layout';
import type { Repository } from '../Repository';
import type { VolumeRecord } from '../schema/volumeRecord';
import type { Manifest } from '../schema/manifest';
import { imageIndexDigests } from '../schema/imageIndex';
import { ImageStore } from '../images/ImageStore';
import { verifyingStream } from '../digest/sha256';
import { BLOCK_DIGEST_LENGTH } from '../digest/BlockDigestSink';

export interface VerifyProblem {
  backupId: string;
  key: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  backups: Array<{ backupId: string; ok: boolean }>;
  problems: VerifyProblem[];
  /** Keys of uncommitted leftovers (not problems: `collectGarbage` removes them). */
  uncommitted: string[];
  bytesChecked: number;
}

/**
 * Verifies committed backups of an application from the target alone: the manifest parses,
 * every listed object is present with its size and digest, every volume's chain resolves to a
 * full image, and (unless `shallow`) every image block and index matches its digests; the
 * image index and every container-image blob it names likewise. Images and blobs shared by
 * several backups are read once.
 */
export async function verifyRepository(
  repo: Repository,
  o: { app: string; backupIds?: string[]; shallow?: boolean },
): Promise<VerifyReport> {
  const report: VerifyReport = { ok: true, backups: [], problems: [], uncommitted: [], bytesChecked: 0 };
  const checked = new Map<string, string | undefined>(); // image key → problem
  const ids = o.backupIds ?? (await repo.listBackups(o.app));
  const committed = new Set(await repo.listBackups(o.app));
  for (const id of ids) {
    const before = report.problems.length;
    const add = (key: string, problem: string) => report.problems.push({ backupId: id, key, problem });
    try {
      const m = await repo.readManifest(o.app, id);
      for (const ref of m.objects) {
        try {
          await repo.getVerified(ref);
          report.bytesChecked += ref.size;
        } catch (e) {
          add(ref.key, describe(e));
        }
      }
      for (const v of m.volumes) {
        let chain;
        try {
          chain = await repo.resolveChain({ app: o.app, pvc: v.pvc, backupId: id });
        } catch (e) {
          add(v.record.key, `chain does not resolve: ${describe(e)}`);
          continue;
        }
        for (const layer of chain) {
          const key = layer.record.image.key;
          if (!checked.has(key)) {
            checked.set(key, await checkLayer(repo, layer.record, !o.shallow, report));
          }
          const problem = checked.get(key);
          if (problem) add(key, problem);
        }
      }
      if (m.images) {
        for (const { key, problem } of await checkImages(repo, m, { deep: !o.shallow, checked, report })) add(key, problem);
      }
    } catch (e) {
      add(layout.manifest(o.app, id), describe(e));
    }
    const ok = report.problems.length === before;
    report.backups.push({ backupId: id, ok });
  }
  const keeps = new Set<string>();
  const candidates: Array<{ key: string; id: string; pvc?: string }> = [];
  for await (const obj of repo.target.list(layout.appPrefix(o.app))) {
    const v = parseVolumeKey(obj.key);
    if (v?.ext === 'keep') keeps.add(`${v.pvc}/${v.backupId}`);
    const b = v ?? parseBackupKey(obj.key);
    if (b && !committed.has(b.backupId)) candidates.push({ key: obj.key, id: b.backupId, pvc: v?.pvc });
  }
  report.uncommitted = candidates
    .filter(c => !(c.pvc && keeps.has(`${c.pvc}/${c.id}`)))
    .map(c => c.key);
  report.ok = report.problems.length === 0;
  return report;
}

async function checkLayer(
  repo: Repository,
  record: VolumeRecord,
  deep: boolean,
  report: VerifyReport,
): Promise<string | undefined> {
  const img = record.image;
  try {
    const head = await repo.target.head(img.key);
    if (!head) return 'image is missing';
    if (head.size !== img.size) return `image is ${head.size} bytes, the record says ${img.size}`;
    const sums = await repo.getVerified(img.sums);
    const blocks = Math.ceil(img.size / img.blockSize);
    if (sums.length !== blocks * BLOCK_DIGEST_LENGTH) return 'digest list does not cover the image';
    if (!(await repo.target.head(record.index.key))) return `index ${record.index.key} is missing`;
    const structure = await checkStructure(repo, record);
    if (structure) return structure;
    if (!deep) return undefined;
    // stream the image once, hashing block by block
    let block = 0;
    let fill = 0;
    let h = createHash('sha256');
    const finish = (): string | undefined => {
      const want = Buffer.from(sums.subarray(block * BLOCK_DIGEST_LENGTH, (block + 1) * BLOCK_DIGEST_LENGTH));
      const bad = !h.digest().equals(want);
      const msg = bad ? `block ${block} (bytes ${block * img.blockSize}..) fails its SHA-256 check` : undefined;
      block++;
      fill = 0;
      h = createHash('sha256');
      return msg;
    };
    for await (const chunk of await repo.target.getStream(img.key)) {
      let pos = 0;
      while (pos < chunk.length) {
        const n = Math.min(chunk.length - pos, img.blockSize - fill);
        h.update(chunk.subarray(pos, pos + n));
        fill += n;
        pos += n;
        if (fill === img.blockSize) {
          const bad = finish();
          if (bad) return bad;
        }
      }
      report.bytesChecked += chunk.length;
    }
    if (fill > 0) {
      const bad = finish();
      if (bad) return bad;
    }
    for await (const c of verifyingStream(record.index, await repo.target.getStream(record.index.key))) {
      report.bytesChecked += c.length;
    }
    return undefined;
  } catch (e) {
    return describe(e);
  }
}

/**
 * The backup's image index (digest, schema, names) and every blob it names: present with its
 * size, and (deep) its bytes match its digest. Blobs are shared by backups, so each is checked
 * once per run (`checked`, keyed by blob key).
 */
async function checkImages(
  repo: Repository,
  m: Manifest,
  o: { deep: boolean; checked: Map<string, string | undefined>; report: VerifyReport },
): Promise<Array<{ key: string; problem: string }>> {
  const store = new ImageStore(repo);
  let index;
  try {
    index = await store.readIndexRef(m.images!, { app: m.app, backupId: m.backupId });
  } catch (e) {
    return [{ key: m.images!.key, problem: describe(e) }];
  }
  const problems: Array<{ key: string; problem: string }> = [];
  for (const { digest, size } of imageIndexDigests(index)) {
    const key = layout.imageBlob(digest);
    if (!o.checked.has(key)) o.checked.set(key, await checkBlob(store, { key, digest, size, deep: o.deep, report: o.report }));
    const problem = o.checked.get(key);
    if (problem) problems.push({ key, problem });
  }
  return problems;
}

async function checkBlob(
  store: ImageStore,
  o: { key: string; digest: string; size: number; deep: boolean; report: VerifyReport },
): Promise<string | undefined> {
  try {
    const head = await store.repo.target.head(o.key);
    if (!head) return 'image blob is missing';
    if (head.size !== o.size) return `image blob is ${head.size} bytes, the image index says ${o.size}`;
    if (!o.deep) return undefined;
    for await (const chunk of await store.blobStream(o.digest, o.size)) o.report.bytesChecked += chunk.length;
    return undefined;
  } catch (e) {
    return describe(e);
  }
}

/** The QCOW2 header agrees with the record: virtual size, cluster size, backing file name. */
async function checkStructure(repo: Repository, record: VolumeRecord): Promise<string | undefined> {
  // an encrypted image is opened with its key: verify also proves the key unlocks it
  const keyId = record.protection?.encryption?.keyId;
  const key = keyId ? repo.keys?.byId(keyId) : undefined;
  if (keyId && !key) {
    throw new KeyUnavailableError({ key: record.image.key, keyId, source: repo.keys?.source, held: repo.keys?.ids() });
  }
  const source = await repo.openImage({ backupId: record.backupId, record, recordRef: { key: '', size: 0, digest: '' } });
  try {
    const image = await Qcow2Image.open({ source, name: record.image.key, l2CacheBytes: 65536, passphrase: key?.secret });
    const wantBacking = record.parent ? layout.backingName(record.parent.backupId) : undefined;
    if (image.virtualSize !== record.virtualSize) {
      return `image has virtual size ${image.virtualSize}, the record says ${record.virtualSize}`;
    }
    if (image.granularity !== record.clusterSize) {
      return `image has ${image.granularity}-byte clusters, the record says ${record.clusterSize}`;
    }
    if (image.backing?.name !== wantBacking) {
      return `image's backing file is ${JSON.stringify(image.backing?.name ?? null)}, the record says ${JSON.stringify(wantBacking ?? null)}`;
    }
    return undefined;
  } finally {
    await source.close();
  }
}

function describe(e: unknown): string {
  if (e instanceof RepositoryError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
