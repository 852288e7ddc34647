import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/**
 * What someone holding a bucket's credentials can do to it directly, through the S3 API and
 * around Ferry (tests of encryption and Object Lock: read the stored bytes, change or delete
 * them). Keys are full object keys (with the target's prefix). Answers carry the HTTP status.
 */
export class BucketAccess {
  readonly client: S3Client;

  constructor(
    readonly bucket: string,
    o: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string },
  ) {
    this.client = new S3Client({
      endpoint: o.endpoint,
      region: o.region,
      forcePathStyle: true,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  }

  /** Creates the bucket, with S3 Object Lock when asked (which turns versioning on where the server keeps versions). */
  async create(o: { objectLock: boolean }): Promise<void> {
    await this.client.send(new CreateBucketCommand({ Bucket: this.bucket, ObjectLockEnabledForBucket: o.objectLock }));
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map(o => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** The object's bytes (`range` e.g. `bytes=0-63`). */
  async get(key: string, range?: string): Promise<Buffer> {
    const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  /** Writes over an object (a new version on a versioned bucket); returns the version id. */
  async put(key: string, body: Uint8Array): Promise<string | undefined> {
    return (await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }))).VersionId;
  }

  async versions(key: string): Promise<string[]> {
    const out = await this.client.send(new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: key }));
    return (out.Versions ?? []).filter(v => v.Key === key).map(v => v.VersionId!);
  }

  /** Deletes an object (a version, when given): `deleted`, or the HTTP status and why it was refused. */
  async delete(key: string, versionId?: string): Promise<string> {
    return this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId })).then(
      () => 'deleted',
      (e: { $metadata?: { httpStatusCode?: number }; message?: string }) =>
        `${e.$metadata?.httpStatusCode} ${/object lock/i.test(e.message ?? '') ? 'object lock' : e.message}`,
    );
  }

  destroy(): void {
    this.client.destroy();
  }
}
