import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RangeSource } from '@ferry/qcow2';
import { IntegrityError } from '../errors';
import { mapS3Error } from './s3Errors';
import { S3ReadCursor } from './S3ReadCursor';

/**
 * RangeSource over an S3 object with ranged GETs, read front to back through long GETs
 * (`S3ReadCursor`). The ETag seen at open is sent as If-Match on every read, so an object
 * replaced underneath fails loudly instead of mixing two versions.
 */
export class S3RangeSource implements RangeSource {
  private readonly cursor: S3ReadCursor;

  private constructor(
    o: { client: S3Client; bucket: string; objectKey: string; key: string; where: string },
    private readonly bytes: number,
    etag: string | undefined,
  ) {
    this.key = o.key;
    this.cursor = new S3ReadCursor({ ...o, size: bytes, etag });
  }

  private readonly key: string;

  /** GETs sent so far. */
  get requests(): number {
    return this.cursor.requests;
  }

  static async open(o: {
    client: S3Client;
    bucket: string;
    objectKey: string;
    key: string;
    where: string;
  }): Promise<S3RangeSource> {
    try {
      const head = await o.client.send(new HeadObjectCommand({ Bucket: o.bucket, Key: o.objectKey }));
      return new S3RangeSource(o, head.ContentLength ?? 0, head.ETag);
    } catch (e) {
      throw mapS3Error(e, o.key, o.where);
    }
  }

  async size(): Promise<number> {
    return this.bytes;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(out, offset);
    return out;
  }

  /** Reads exactly `target.length` bytes at `offset` into `target`. */
  async readInto(target: Uint8Array, offset: number): Promise<void> {
    if (offset < 0 || offset + target.length > this.bytes) {
      throw new IntegrityError(
        this.key,
        `read of ${target.length} bytes at ${offset} goes past the end (${this.bytes} bytes)`,
      );
    }
    if (target.length === 0) return;
    await this.cursor.readInto(target, offset);
  }

  async close(): Promise<void> {
    this.cursor.close();
  }
}
