import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { PositionalSink } from '@ferry/qcow2';
import { InvalidInputError, ObjectNotFoundError } from '../errors';
import { mapS3Error } from './s3Errors';

/** S3's smallest part size for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface S3PositionalSinkOptions {
  client: S3Client;
  bucket: string;
  /** Full object key (target prefix included). */
  objectKey: string;
  /** Repository key, for errors. */
  key: string;
  where: string;
  partSize: number;
  /** Parts uploading at once (memory ≈ (queueSize + 2) × partSize). */
  queueSize: number;
}

/**
 * PositionalSink on an S3 multipart upload. Part 1 covers the head region the writer reserved
 * (header + L1, written last) padded with the first appended bytes up to the part size; it is
 * held in memory and uploaded at commit. Parts 2..n are uploaded as soon as they fill, up to
 * `queueSize` at a time; `write` waits when the queue is full, so memory stays bounded whatever
 * the image size. CompleteMultipartUpload is the commit: before it, nothing is visible.
 * (lib-storage's Upload cannot hold back part 1, hence the hand-written part loop.)
 */
export class S3PositionalSink implements PositionalSink {
  private uploadId?: string;
  private headBytes = -1;
  private firstPart?: Buffer;
  private firstPartSize = 0;
  private appended = 0;
  private current?: Buffer;
  private currentFill = 0;
  private nextPartNumber = 2;
  private readonly inFlight = new Set<Promise<void>>();
  /** Part buffers whose upload finished, filled again instead of allocating (no GC churn). */
  private readonly free: Buffer[] = [];
  private readonly etags = new Map<number, string>();
  private failure?: unknown;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(private readonly o: S3PositionalSinkOptions) {
    if (o.partSize < MIN_PART_SIZE) {
      throw new InvalidInputError(`partSize ${o.partSize} is below S3's minimum of ${MIN_PART_SIZE}`);
    }
  }

  async reserveHead(headBytes: number): Promise<void> {
    if (this.headBytes >= 0) throw new InvalidInputError('reserveHead called twice');
    if (!Number.isSafeInteger(headBytes) || headBytes < 0) {
      throw new InvalidInputError(`head size ${headBytes} is not a non-negative integer`);
    }
    try {
      const out = await this.o.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.o.bucket, Key: this.o.objectKey }),
      );
      this.uploadId = out.UploadId;
    } catch (e) {
      throw mapS3Error(e, this.o.key, this.o.where);
    }
    if (!this.uploadId) throw new Error(`S3 returned no upload id for ${this.o.key}`);
    this.headBytes = headBytes;
    this.appended = headBytes;
    this.firstPartSize = Math.max(this.o.partSize, headBytes);
    this.firstPart = Buffer.alloc(this.firstPartSize);
  }

  private tail: Promise<void> = Promise.resolve();

  /**
   * Writes are applied one after the other in call order (the QCOW2 writer issues an append
   * before the previous one has resolved); a failure fails every later write.
   */
  write(data: Uint8Array, offset: number): Promise<void> {
    const next = this.tail.then(() => this.writeNow(data, offset));
    this.tail = next.catch(e => {
      this.failure ??= e;
    });
    return next;
  }

  private async writeNow(data: Uint8Array, offset: number): Promise<void> {
    this.requireOpen();
    if (this.failure) throw this.failure;
    if (offset + data.length <= this.headBytes) {
      this.firstPart!.set(data, offset);
      return;
    }
    if (offset !== this.appended) {
      throw new InvalidInputError(
        `write at ${offset} is neither inside the head (< ${this.headBytes}) nor the next append (${this.appended})`,
      );
    }
    let pos = 0;
    while (pos < data.length) {
      if (this.appended < this.firstPartSize) {
        const n = Math.min(data.length - pos, this.firstPartSize - this.appended);
        this.firstPart!.set(data.subarray(pos, pos + n), this.appended);
        pos += n;
        this.appended += n;
        continue;
      }
      if (!this.current) {
        this.current = this.free.pop() ?? Buffer.allocUnsafeSlow(this.o.partSize);
        this.currentFill = 0;
      }
      const n = Math.min(data.length - pos, this.o.partSize - this.currentFill);
      this.current.set(data.subarray(pos, pos + n), this.currentFill);
      this.currentFill += n;
      pos += n;
      this.appended += n;
      if (this.currentFill === this.o.partSize) await this.flushCurrent();
    }
  }

  async commit(): Promise<{ size: number }> {
    this.requireOpen();
    await this.tail;
    try {
      if (this.failure) throw this.failure;
      if (this.headBytes < 0) throw new InvalidInputError('commit before reserveHead');
      if (this.current && this.currentFill > 0) await this.flushCurrent();
      const firstLength = Math.min(this.appended, this.firstPartSize);
      await this.enqueue(1, this.firstPart!.subarray(0, firstLength));
      this.firstPart = undefined;
      await Promise.all(this.inFlight);
      if (this.failure) throw this.failure;
      const parts = [...this.etags.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
      await this.o.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.o.bucket,
          Key: this.o.objectKey,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      this.state = 'committed';
      return { size: this.appended };
    } catch (e) {
      await this.abort().catch(() => undefined);
      throw mapS3Error(e, this.o.key, this.o.where);
    }
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.firstPart = undefined;
    this.current = undefined;
    await Promise.allSettled(this.inFlight);
    if (!this.uploadId) return;
    try {
      await this.o.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.o.bucket,
          Key: this.o.objectKey,
          UploadId: this.uploadId,
        }),
      );
    } catch (e) {
      const error = mapS3Error(e, this.o.key, this.o.where);
      // The upload is gone already (removed as incomplete meanwhile): nothing is left, as asked.
      if (error instanceof ObjectNotFoundError) return;
      throw error;
    }
  }

  private async flushCurrent(): Promise<void> {
    if (this.nextPartNumber > 10000) {
      throw new InvalidInputError(
        `${this.o.key} needs more than 10,000 parts of ${this.o.partSize} bytes: pass a sizeHint or a larger partSize`,
      );
    }
    const buffer = this.current!;
    const body = buffer.subarray(0, this.currentFill);
    this.current = undefined;
    this.currentFill = 0;
    await this.enqueue(this.nextPartNumber++, body, buffer);
  }

  /**
   * Starts a part upload, first waiting until fewer than queueSize are in flight. `reuse` (the
   * buffer under `body`) goes back to the free list once the upload settled.
   */
  private async enqueue(partNumber: number, body: Buffer, reuse?: Buffer): Promise<void> {
    while (this.inFlight.size >= this.o.queueSize) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const p: Promise<void> = this.o.client
      .send(
        new UploadPartCommand({
          Bucket: this.o.bucket,
          Key: this.o.objectKey,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
      )
      .then(out => {
        if (!out.ETag) throw new Error(`S3 returned no ETag for part ${partNumber} of ${this.o.key}`);
        this.etags.set(partNumber, out.ETag);
      })
      .catch(e => {
        this.failure ??= mapS3Error(e, this.o.key, this.o.where);
      })
      .finally(() => {
        this.inFlight.delete(p);
        if (reuse && this.state === 'open') this.free.push(reuse);
      });
    this.inFlight.add(p);
  }

  private requireOpen(): void {
    if (this.state !== 'open') throw new InvalidInputError(`sink for ${this.o.key} is ${this.state}`);
  }
}
