import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { IntegrityError } from '../errors';
import { mapS3Error } from './s3Errors';

/** Bytes one GET asks for at most: a new request after that many bytes read in order. */
export const CURSOR_GET_BYTES = 64 * 1024 * 1024;
/** A forward jump up to this many bytes reads and drops them instead of a new request. */
const SKIP_BYTES = 4 * 1024 * 1024;
/** A stream that fails mid-way is reopened at the same place this many times. */
const RETRIES = 3;

interface Open {
  iterator: AsyncIterator<Uint8Array>;
  destroy: () => void;
  /** Object offset of the next byte the stream gives. */
  pos: number;
  /** Offset one past the last byte asked for. */
  end: number;
  /** What is left of the last chunk. */
  rest?: Uint8Array;
}

/**
 * Reads an S3 object front to back through a few long GETs (up to 64 MiB each) instead of one
 * ranged GET per block: every request costs milliseconds of CPU (signing, HTTP, parsing), and
 * a restore reads each layer of its chain in order. Reads are served in call order; a read
 * behind the stream, or far ahead of it, starts a new GET there. Every GET carries the ETag
 * seen at open (If-Match), so an object replaced underneath fails instead of mixing versions.
 */
export class S3ReadCursor {
  private open?: Open;
  private queue: Promise<unknown> = Promise.resolve();
  /** GETs started (for tests and figures). */
  requests = 0;

  constructor(
    private readonly o: {
      client: S3Client;
      bucket: string;
      objectKey: string;
      key: string;
      where: string;
      size: number;
      etag?: string;
    },
  ) {}

  /** Fills `target` with the bytes at `offset` (after every earlier call's bytes). */
  readInto(target: Uint8Array, offset: number): Promise<void> {
    const run = this.queue.then(() => this.read(target, offset));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.open?.destroy();
    this.open = undefined;
  }

  private async read(target: Uint8Array, offset: number): Promise<void> {
    let done = 0;
    for (let attempt = 0; done < target.length; ) {
      const at = offset + done;
      const open = this.open;
      if (!open || at < open.pos || at - open.pos > SKIP_BYTES || at >= open.end) {
        this.close();
        this.open = await this.get(at);
        continue;
      }
      try {
        done += await this.take(open, target.subarray(done), at);
      } catch (e) {
        if (e instanceof IntegrityError || ++attempt > RETRIES) throw e instanceof IntegrityError ? e : mapS3Error(e, this.o.key, this.o.where);
        this.close(); // reopened at the same place on the next turn
      }
    }
  }

  /** Drops bytes up to `at`, then copies what the stream has for `target` (at least one byte). */
  private async take(open: Open, target: Uint8Array, at: number): Promise<number> {
    let copied = 0;
    while (copied < target.length && open.pos < open.end) {
      let chunk = open.rest;
      open.rest = undefined;
      if (!chunk) {
        const next = await open.iterator.next();
        if (next.done) {
          throw new IntegrityError(this.o.key, `ranged read ended at ${open.pos}, before ${open.end}`);
        }
        chunk = next.value;
        if (chunk.length > open.end - open.pos) {
          throw new IntegrityError(this.o.key, `ranged read from ${open.pos} returned more than the ${open.end - open.pos} bytes asked for`);
        }
      }
      if (open.pos < at) {
        const drop = Math.min(at - open.pos, chunk.length);
        open.pos += drop;
        if (drop < chunk.length) open.rest = chunk.subarray(drop);
        continue;
      }
      const n = Math.min(chunk.length, target.length - copied);
      target.set(chunk.subarray(0, n), copied);
      copied += n;
      open.pos += n;
      if (n < chunk.length) open.rest = chunk.subarray(n);
    }
    if (open.pos >= open.end && this.open === open) this.close();
    return copied;
  }

  private async get(at: number): Promise<Open> {
    const end = Math.min(this.o.size, at + CURSOR_GET_BYTES);
    this.requests++;
    try {
      const out = await this.o.client.send(
        new GetObjectCommand({
          Bucket: this.o.bucket,
          Key: this.o.objectKey,
          Range: `bytes=${at}-${end - 1}`,
          IfMatch: this.o.etag,
        }),
      );
      const body = out.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
      return {
        iterator: body[Symbol.asyncIterator](),
        destroy: () => body.destroy?.(),
        pos: at,
        end,
      };
    } catch (e) {
      throw mapS3Error(e, this.o.key, this.o.where);
    }
  }
}
