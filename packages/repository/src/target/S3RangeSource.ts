import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RangeSource } from '@ferry/qcow2';
import { IntegrityError } from '../errors';
import { mapS3Error } from './s3Errors';

/**
 * RangeSource over an S3 object with ranged GETs. The ETag seen at open is sent as If-Match on
 * every read, so an object replaced underneath fails loudly instead of mixing two versions.
 */
export class S3RangeSource implements RangeSource {
  private constructor(
    private readonly o: { client: S3Client; bucket: string; objectKey: string; key: string; where: string },
    private readonly bytes: number,
    private readonly etag: string | undefined,
  ) {}

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
    if (offset < 0 || length < 0 || offset + length > this.bytes) {
      throw new IntegrityError(
        this.o.key,
        `read of ${length} bytes at ${offset} goes past the end (${this.bytes} bytes)`,
      );
    }
    if (length === 0) return new Uint8Array(0);
    try {
      const out = await this.o.client.send(
        new GetObjectCommand({
          Bucket: this.o.bucket,
          Key: this.o.objectKey,
          Range: `bytes=${offset}-${offset + length - 1}`,
          IfMatch: this.etag,
        }),
      );
      const data = await out.Body!.transformToByteArray();
      if (data.length !== length) {
        throw new IntegrityError(
          this.o.key,
          `ranged read at ${offset} returned ${data.length} bytes instead of ${length}`,
        );
      }
      return data;
    } catch (e) {
      throw mapS3Error(e, this.o.key, this.o.where);
    }
  }

  async close(): Promise<void> {}
}
