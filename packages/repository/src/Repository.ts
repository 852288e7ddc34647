import type { BackingResolver, PositionalSink, RangeSource } from '@ferry/qcow2';
import {
  AlreadyExistsError,
  InvalidInputError,
  IntegrityError,
  ObjectNotFoundError,
  RepositoryError,
  UnsupportedFormatError,
} from './errors';
import { checkBackupId, checkName, layout, parseBackupKey, parseVolumeKey } from './layout';
import { manifestSchema, type Manifest } from './schema/manifest';
import type { ObjectRef } from './schema/objectRef';
import { parseJsonObject } from './schema/parse';
import {
  REPOSITORY_FORMAT,
  REPOSITORY_VERSION,
  repositoryInfoSchema,
  type RepositoryInfo,
} from './schema/repositoryInfo';
import { keepMarkerSchema, volumeRecordSchema, type VolumeRecord } from './schema/volumeRecord';
import type { Target } from './target/Target';
import { checkObject, digestOf } from './digest/sha256';
import { BlockDigestSink, DEFAULT_DIGEST_BLOCK } from './digest/BlockDigestSink';
import { VerifiedRangeSource } from './digest/VerifiedRangeSource';
import type { HashPool } from './digest/HashPool';
import { createHash } from 'node:crypto';
import { EnvelopeTarget } from './crypto/EnvelopeTarget';
import type { Keyring } from './crypto/RepositoryKeys';
import { commitBackup, type CommitBackupOptions } from './operations/commitBackup';

export interface OpenRepositoryOptions {
  /** Initialises an empty target (writes `ferry.json`). */
  create?: boolean;
  /**
   * The repository's keys: objects are sealed in the envelope with the current one and opened
   * with the one their header names; volume records must say their image is LUKS-encrypted.
   */
  keys?: Keyring;
  /** With `keys`: also read objects stored in the clear (backups made before encryption was on). */
  readUnencrypted?: boolean;
}

/** How images are read: `hashPool` checks their blocks on worker threads. */
export interface ImageReadOptions {
  hashPool?: HashPool;
}

/**
 * Blocks read ahead of a miss per image (VerifiedRangeSource): 2 from a file; none from a
 * target whose reads stream (S3), where they only held memory. Restore of a 4 GiB chain of 6
 * from the sandbox's S3 server (bench:datamover's workload), peak RSS: 168-177 MiB with 2 blocks
 * ahead and the hashing thread, 139-147 MiB with neither, and faster (2.8-2.9 s against 3.5-3.7 s).
 */
const readAheadFor = (target: Target) => (target.streamsReads ? 0 : 2);

/** One layer of a volume's chain, top (the backup asked for) first. */
export interface ChainLayer {
  backupId: string;
  record: VolumeRecord;
  recordRef: ObjectRef;
}

/** The backup repository on one target: layout, manifests, commit, chains (DESIGN.md §5). */
export class Repository {
  /** The target seen through the envelope (plaintext objects in, plaintext out). */
  readonly target: EnvelopeTarget;

  private constructor(
    target: Target,
    readonly info: RepositoryInfo,
    private readonly options: OpenRepositoryOptions = {},
  ) {
    this.target = new EnvelopeTarget(target instanceof EnvelopeTarget ? target.inner : target, options.keys, options.readUnencrypted);
  }

  /** The keys objects are sealed and opened with (undefined: the repository is used in the clear). */
  get keys(): Keyring | undefined {
    return this.options.keys;
  }

  /** The same repository with other keys (e.g. a keyring read again after a rotation). */
  withKeys(keys: Keyring | undefined, readUnencrypted = this.options.readUnencrypted): Repository {
    return new Repository(this.target.inner, this.info, { ...this.options, keys, readUnencrypted });
  }

  /** Opens the repository on `target`; with `create`, initialises an empty target. */
  static async open(target: Target, options?: OpenRepositoryOptions): Promise<Repository> {
    const repo = await Repository.openInfo(target instanceof EnvelopeTarget ? target.inner : target, options);
    await repo.target.checkObjectLock();
    return repo;
  }

  private static async openInfo(target: Target, options?: OpenRepositoryOptions): Promise<Repository> {
    const key = layout.repositoryInfo();
    let bytes: Uint8Array | undefined;
    try {
      bytes = await target.get(key);
    } catch (e) {
      if (!(e instanceof ObjectNotFoundError)) throw e;
      if (!options?.create) {
        throw new RepositoryError('NOT_FOUND', `${target.description} holds no Ferry repository (no ${key})`, { cause: e });
      }
    }
    if (!bytes) {
      const info: RepositoryInfo = {
        format: REPOSITORY_FORMAT,
        version: REPOSITORY_VERSION,
        createdAt: new Date().toISOString(),
        encryption: { type: 'none' },
        imageDigestBlockSize: DEFAULT_DIGEST_BLOCK,
      };
      // two initialisers racing: the first one wins, the other reads its file
      if (!(await target.putIfAbsent(key, JSON.stringify(info, null, 2)))) {
        return Repository.openInfo(target, { ...options, create: false });
      }
      return new Repository(target, info, options);
    }
    const info = parseJsonObject(repositoryInfoSchema, key, bytes);
    if (info.version > REPOSITORY_VERSION) {
      throw new UnsupportedFormatError(
        `repository on ${target.description} has format version ${info.version}; this Ferry reads up to ${REPOSITORY_VERSION}`,
      );
    }
    return new Repository(target, info, options);
  }

  // ---- listing (from the target alone) ----

  /** Applications with at least one committed backup. */
  async listApps(): Promise<string[]> {
    const apps = new Set<string>();
    for await (const o of this.target.list(layout.appsPrefix())) {
      const p = parseBackupKey(o.key);
      if (p && p.rest === 'manifest.json') apps.add(p.app);
    }
    return [...apps].sort();
  }

  /** Committed backup ids of an application, oldest first. */
  async listBackups(app: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.target.list(layout.backupsPrefix(app))) {
      const p = parseBackupKey(o.key);
      if (p && p.rest === 'manifest.json') ids.push(p.backupId);
    }
    return ids.sort();
  }

  async isCommitted(app: string, backupId: string): Promise<boolean> {
    return (await this.target.head(layout.manifest(app, backupId))) !== undefined;
  }

  async readManifest(app: string, backupId: string): Promise<Manifest> {
    const key = layout.manifest(app, backupId);
    const m = parseJsonObject(manifestSchema, key, await this.target.get(key));
    if (m.app !== app || m.backupId !== backupId) {
      throw new IntegrityError(key, `names app ${m.app} backup ${m.backupId}`);
    }
    return m;
  }

  // ---- objects with digests ----

  async getVerified(ref: ObjectRef): Promise<Uint8Array> {
    return checkObject(ref, await this.target.get(ref.key));
  }

  async putObject(key: string, data: Uint8Array | string): Promise<ObjectRef> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await this.target.put(key, bytes);
    return { key, size: bytes.length, digest: digestOf(bytes) };
  }

  /** Streams an object to the target, digesting it on the way. */
  async putStreamObject(key: string, body: AsyncIterable<Uint8Array>): Promise<ObjectRef> {
    const h = createHash('sha256');
    const { size } = await this.target.putStream(
      key,
      (async function* hashed() {
        for await (const c of body) {
          h.update(c);
          yield c;
        }
      })(),
    );
    return { key, size, digest: `sha256:${h.digest('hex')}` };
  }

  /** Writes an extra object of an uncommitted backup (e.g. resources YAML). */
  async putBackupObject(o: { app: string; backupId: string; path: string; data: Uint8Array | string }) {
    await this.assertNotCommitted(o.app, o.backupId);
    if (o.path === 'manifest.json') throw new InvalidInputError('path "manifest.json" is reserved');
    return this.putObject(`${layout.backupPrefix(o.app, o.backupId)}${o.path}`, o.data);
  }

  async assertNotCommitted(app: string, backupId: string): Promise<void> {
    if (await this.isCommitted(app, backupId)) {
      throw new AlreadyExistsError(`backup ${backupId} of ${app} is committed and immutable`);
    }
  }

  // ---- volume images ----

  /**
   * A positional sink for a new image that also computes its block digests (on the worker
   * threads of `hashPool` when given and the sink is not a blocking one).
   */
  async openImageSink(o: { app: string; pvc: string; backupId: string; sizeHint?: number; hashPool?: HashPool }) {
    await this.assertNotCommitted(o.app, o.backupId);
    const key = layout.image(o.app, o.pvc, o.backupId);
    const inner: PositionalSink = await this.target.openSink(key, { sizeHint: o.sizeHint });
    return { key, sink: new BlockDigestSink(inner, this.info.imageDigestBlockSize, o.hashPool) };
  }

  async putRecord(record: VolumeRecord): Promise<ObjectRef> {
    const parsed = volumeRecordSchema.parse(record);
    if (this.keys && !parsed.protection?.encryption) {
      throw new InvalidInputError(
        `volume image ${parsed.image.key} is not encrypted, but ${this.keys.source} is configured for this target: back it up with the key (LUKS)`,
      );
    }
    return this.putObject(
      layout.record(parsed.app, parsed.pvc, parsed.backupId),
      JSON.stringify(parsed, null, 2),
    );
  }

  async readRecord(ref: ObjectRef): Promise<VolumeRecord> {
    return parseJsonObject(volumeRecordSchema, ref.key, await this.getVerified(ref));
  }

  /**
   * The record of a volume of a committed backup, or of a deleted-but-kept image; the
   * starting point of an incremental backup (its parent).
   */
  async readVolumeOf(app: string, pvc: string, backupId: string): Promise<ChainLayer> {
    checkName('pvc', pvc);
    checkBackupId(backupId);
    let ref: ObjectRef | undefined;
    if (await this.isCommitted(app, backupId)) {
      const m = await this.readManifest(app, backupId);
      const v = m.volumes.find(x => x.pvc === pvc);
      if (!v) throw new RepositoryError('NOT_FOUND', `backup ${backupId} of ${app} has no volume ${pvc}`);
      ref = v.record;
    } else {
      const keepKey = layout.keep(app, pvc, backupId);
      let marker: Uint8Array;
      try {
        marker = await this.target.get(keepKey);
      } catch (e) {
        if (!(e instanceof ObjectNotFoundError)) throw e;
        throw new RepositoryError('NOT_FOUND', `backup ${backupId} of ${app} is not committed and volume ${pvc} is not kept for another backup`, { cause: e });
      }
      ref = parseJsonObject(keepMarkerSchema, keepKey, marker).record;
    }
    const record = await this.readRecord(ref);
    if (record.app !== app || record.pvc !== pvc || record.backupId !== backupId) {
      throw new IntegrityError(ref.key, `describes ${record.app}/${record.pvc}/${record.backupId}`);
    }
    return { backupId, record, recordRef: ref };
  }

  /** Top (this backup) to base (the full image); every link verified by digest. */
  async resolveChain(o: { app: string; pvc: string; backupId: string }): Promise<ChainLayer[]> {
    const chain = [await this.readVolumeOf(o.app, o.pvc, o.backupId)];
    for (;;) {
      const top = chain[chain.length - 1];
      const p = top.record.parent;
      if (!p) break;
      if (chain.length > 10_000 || chain.some(l => l.backupId === p.backupId)) {
        throw new IntegrityError(top.recordRef.key, 'parent links form a loop');
      }
      const record = await this.readRecord(p.record);
      if (record.backupId !== p.backupId || record.pvc !== o.pvc) {
        throw new IntegrityError(p.record.key, `is not the record of ${o.pvc}/${p.backupId}`);
      }
      chain.push({ backupId: p.backupId, record, recordRef: p.record });
    }
    if (chain[chain.length - 1].record.kind !== 'full') {
      throw new IntegrityError(chain[chain.length - 1].recordRef.key, 'chain does not end in a full image');
    }
    return chain;
  }

  /**
   * Opens a layer's image; every byte read is checked against its `.sums` (on the worker
   * threads of `options.hashPool` when given, e.g. a restore: see `HashPool`).
   */
  async openImage(layer: ChainLayer, options?: ImageReadOptions): Promise<RangeSource> {
    const img = layer.record.image;
    const sums = await this.getVerified(img.sums);
    const source = await this.target.openSource(img.key);
    const size = await source.size();
    if (size !== img.size) {
      await source.close();
      throw new IntegrityError(img.key, `size is ${size} bytes, the record says ${img.size}`);
    }
    return new VerifiedRangeSource({
      source,
      key: img.key,
      size,
      blockSize: img.blockSize,
      sums,
      hashPool: options?.hashPool,
      readAhead: readAheadFor(this.target),
    });
  }

  /** Resolves backing names inside `chain` (the overlay's backing name is `<parentId>.qcow2`). */
  backingResolver(chain: ChainLayer[], options?: ImageReadOptions): BackingResolver {
    return async ({ backingName, childName }) => {
      const child = chain.find(l => layout.backingName(l.backupId) === childName.split('/').pop());
      const parentId = child?.record.parent?.backupId;
      const layer = chain.find(l => l.backupId === parentId);
      if (!layer || layout.backingName(layer.backupId) !== backingName) {
        throw new IntegrityError(
          childName,
          `backing file "${backingName}" is not the recorded parent ${parentId ?? '(none)'}`,
        );
      }
      return { name: backingName, source: await this.openImage(layer, options) };
    };
  }

  // ---- commit ----

  /** Volume records written for an (uncommitted) backup id, found by listing. */
  async stagedVolumes(app: string, backupId: string): Promise<Array<{ pvc: string; record: ObjectRef }>> {
    const out: Array<{ pvc: string; record: ObjectRef }> = [];
    for await (const o of this.target.list(layout.volumesPrefix(app))) {
      const p = parseVolumeKey(o.key);
      if (!p || p.backupId !== backupId || p.ext !== 'json') continue;
      const data = await this.target.get(o.key);
      out.push({ pvc: p.pvc, record: { key: o.key, size: data.length, digest: digestOf(data) } });
    }
    return out;
  }

  /**
   * Commits a backup (`commitBackup` in operations/commitBackup.ts): the manifest is written last,
   * under the application's lock.
   */
  async commitBackup(o: CommitBackupOptions): Promise<Manifest> {
    return commitBackup(this, o);
  }
}
