import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { PositionalSink, RangeSource } from '@ferry/qcow2';
import type {
  IncompleteUpload,
  ObjectInfo,
  ObjectLockSettings,
  OpenSinkOptions,
  PutOptions,
  Retention,
  Target,
} from './Target';
import { checkKey } from './FilesystemTarget';
import { MIN_PART_SIZE, S3PositionalSink } from './S3PositionalSink';
import { S3RangeSource } from './S3RangeSource';
import { mapS3Error, s3Status } from './s3Errors';
import { ObjectLockedError, ObjectNotFoundError } from '../errors';
import { S3ObjectLock } from './S3ObjectLock';

export interface S3TargetOptions {
  bucket: string;
  /** Key prefix inside the bucket (a repository may share a bucket). */
  prefix?: string;
  /** Any S3-compatible endpoint (MinIO, versitygw, Ceph RGW …); AWS when absent. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most self-hosted servers. */
  forcePathStyle?: boolean;
  /** Static credentials; when absent the SDK's default chain (environment, profile, IRSA …). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size in bytes (default 6 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel (default 2 for images, `openSink`; 4 for streams, `putStream`). */
  queueSize?: number;
  /**
   * S3 Object Lock (the bucket must have been created with it): committed objects are
   * retained `days` in `mode`; deleting a retained object is refused before any request.
   */
  objectLock?: ObjectLockSettings;
}

/**
 * An image upload holds part 1 until commit, the part being filled and the parts in flight:
 * 6 MiB parts, 2 at a time, are 24 MiB (8 MiB parts, 4 at a time, were 48 MiB, and a 1 GiB full
 * backup to the sandbox's S3 server peaked at 146 MiB RSS; the uploads keep up with 2).
 */
const DEFAULT_PART = 6 * 1024 * 1024;
const DEFAULT_SINK_QUEUE = 2;
const DEFAULT_STREAM_QUEUE = 4;
const MAX_PARTS = 10000;
const SINK_MEMORY = 64 * 1024 * 1024;

/** Target on an S3 bucket through the AWS SDK v3 (any S3-compatible endpoint). */
export class S3Target implements Target {
  readonly description: string;
  /** Images are read through S3ReadCursor's long GETs. */
  readonly streamsReads = true;
  readonly client: S3Client;
  private readonly prefix: string;
  private atomicCreate?: Promise<boolean>;
  private readonly lock?: S3ObjectLock;

  constructor(private readonly o: S3TargetOptions) {
    const p = (o.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = p ? `${p}/` : '';
    this.description = `s3://${o.bucket}/${this.prefix}${o.endpoint ? ` at ${o.endpoint}` : ''}`;
    this.client = new S3Client({
      endpoint: o.endpoint,
      region: o.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: o.forcePathStyle,
      credentials: o.credentials,
      // Ferry records its own SHA-256 digests; the SDK's default CRC trailers are not understood
      // by every S3-compatible server, so only send checksums where an operation requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 5,
    });
    if (o.objectLock) {
      this.lock = new S3ObjectLock({
        client: this.client,
        bucket: o.bucket,
        where: this.description,
        settings: o.objectLock,
        full: key => this.full(key),
        root: this.prefix,
      });
    }
  }

  get objectLock(): ObjectLockSettings | undefined {
    return this.o.objectLock;
  }

  /** Object Lock headers of a PutObject (with the Content-MD5 S3 requires alongside them). */
  private lockParams(data: Uint8Array | string, options?: PutOptions) {
    if (!options?.retainUntil) return {};
    if (!this.o.objectLock) throw new Error(`S3 target ${this.description} has no objectLock to retain objects with`);
    return {
      ObjectLockMode: this.o.objectLock.mode,
      ObjectLockRetainUntilDate: options.retainUntil,
      ContentMD5: createHash('md5').update(data).digest('base64'),
    };
  }

  private full(key: string): string {
    checkKey(key);
    return this.prefix + key;
  }

  private partSizeFor(sizeHint?: number): number {
    const base = Math.max(this.o.partSize ?? DEFAULT_PART, MIN_PART_SIZE);
    if (!sizeHint) return base;
    const needed = Math.ceil((sizeHint * 1.02 + base) / (MAX_PARTS - 10));
    const mib = 1024 * 1024;
    return Math.max(base, Math.ceil(needed / mib) * mib);
  }

  async put(key: string, data: Uint8Array | string, options?: PutOptions): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.o.bucket, Key: this.full(key), Body: data, ...this.lockParams(data, options) }),
      );
    } catch (e) {
      throw mapS3Error(e, key, this.description);
    }
  }

  async putIfAbsent(key: string, data: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    return this.putIfNoneMatch(this.full(key), key, data, options);
  }

  private async putIfNoneMatch(objectKey: string, key: string, data: Uint8Array | string, options?: PutOptions) {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.o.bucket,
          Key: objectKey,
          Body: data,
          IfNoneMatch: '*',
          ...this.lockParams(data, options),
        }),
      );
      return true;
    } catch (e) {
      const status = s3Status(e);
      if (status === 412 || status === 409) return false;
      throw mapS3Error(e, key, this.description);
    }
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<{ size: number }> {
    let size = 0;
    const counted = Readable.from(
      (async function* count() {
        for await (const chunk of body) {
          size += chunk.length;
          yield chunk;
        }
      })(),
    );
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.o.bucket, Key: this.full(key), Body: counted },
        partSize: this.partSizeFor(),
        queueSize: this.o.queueSize ?? DEFAULT_STREAM_QUEUE,
        leavePartsOnError: false,
      });
      await upload.done();
      return { size };
    } catch (e) {
      throw mapS3Error(e, key, this.description);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.o.bucket, Key: this.full(key) }),
      );
      return await out.Body!.transformToByteArray();
    } catch (e) {
      throw mapS3Error(e, key, this.description);
    }
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array>> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.o.bucket, Key: this.full(key) }),
      );
      return out.Body as Readable;
    } catch (e) {
      throw mapS3Error(e, key, this.description);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.full(key) }),
      );
      return { key, size: out.ContentLength ?? 0, modified: out.LastModified ?? new Date(0) };
    } catch (e) {
      const mapped = mapS3Error(e, key, this.description);
      if (mapped instanceof ObjectNotFoundError) return undefined;
      throw mapped;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.o.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
          }),
        );
      } catch (e) {
        throw mapS3Error(e, prefix || '/', this.description);
      }
      for (const c of out.Contents ?? []) {
        const key = (c.Key ?? '').slice(this.prefix.length);
        if (!key || key.split('/').some(p => p.startsWith('.'))) continue;
        yield { key, size: c.Size ?? 0, modified: c.LastModified ?? new Date(0) };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    if (this.lock) {
      // On a versioned bucket a delete without a version id "succeeds" on a locked object (it
      // lays a delete marker over it): refuse it here, so Ferry never hides a locked object.
      const r = await this.lock.retention(key);
      if (r) throw new ObjectLockedError({ key, until: r.until, mode: r.mode });
    }
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.full(key) }));
    } catch (e) {
      const mapped = mapS3Error(e, key, this.description);
      if (!(mapped instanceof ObjectNotFoundError)) throw mapped;
    }
  }

  async openSink(key: string, options?: OpenSinkOptions): Promise<PositionalSink> {
    const partSize = this.partSizeFor(options?.sizeHint);
    // Parts grow past 6 MiB only for volumes over ~57 GiB (S3 allows 10,000 parts); then fewer
    // uploads run at once so memory stays near 64 MiB, never below one part in flight.
    const queueSize = Math.max(1, Math.min(this.o.queueSize ?? DEFAULT_SINK_QUEUE, Math.floor(SINK_MEMORY / partSize) - 2));
    return new S3PositionalSink({
      client: this.client,
      bucket: this.o.bucket,
      objectKey: this.full(key),
      key,
      where: this.description,
      partSize,
      queueSize,
    });
  }

  async openSource(key: string): Promise<RangeSource> {
    return S3RangeSource.open({
      client: this.client,
      bucket: this.o.bucket,
      objectKey: this.full(key),
      key,
      where: this.description,
    });
  }

  async *listIncomplete(prefix: string): AsyncIterable<IncompleteUpload> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.o.bucket,
            Prefix: this.prefix + prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (e) {
        throw mapS3Error(e, prefix || '/', this.description);
      }
      for (const u of out.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        yield {
          key: u.Key.slice(this.prefix.length),
          handle: u.UploadId,
          started: u.Initiated ?? new Date(0),
        };
      }
      if (!out.IsTruncated) return;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
    }
  }

  async removeIncomplete(upload: IncompleteUpload): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.o.bucket,
          Key: this.full(upload.key),
          UploadId: upload.handle,
        }),
      );
    } catch (e) {
      const mapped = mapS3Error(e, upload.key, this.description);
      if (!(mapped instanceof ObjectNotFoundError)) throw mapped;
    }
  }

  /**
   * Probes once whether the server honours `If-None-Match: *` on PutObject (AWS since 2024,
   * recent MinIO and versitygw): a second conditional put of the same key must be refused.
   */
  supportsAtomicCreate(): Promise<boolean> {
    this.atomicCreate ??= (async () => {
      const probe = `${this.prefix}.ferry-probe/${randomBytes(8).toString('hex')}`;
      try {
        const first = await this.putIfNoneMatch(probe, '.ferry-probe', 'probe');
        const second = await this.putIfNoneMatch(probe, '.ferry-probe', 'probe');
        return first && !second;
      } finally {
        await this.client
          .send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: probe }))
          .catch(() => undefined);
      }
    })();
    return this.atomicCreate;
  }

  async retention(key: string): Promise<Retention | undefined> {
    return this.lock?.retention(key);
  }

  async retain(key: string, until: Date): Promise<void> {
    await this.lock?.retain(key, until);
  }

  async checkObjectLock(): Promise<void> {
    await this.lock?.check();
  }

  /**
   * Removes delete markers laid over versions still under retention below `prefix` (see
   * `S3ObjectLock.undelete`); returns the keys brought back. Needs `objectLock`.
   */
  async undeleteLocked(prefix: string): Promise<string[]> {
    if (!this.lock) return [];
    return this.lock.undelete(prefix);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
