import { createHash } from 'node:crypto';

/**
 * The digest index of a volume image (`<id>.index`): one digest per guest cluster of the whole
 * virtual disk at backup time, so the next backup can tell changed clusters by reading the
 * device and this index side by side, in one sequential pass and constant memory.
 *
 * Layout (big-endian): 64-byte header
 *   0  magic "FERRYIDX"   8  version u32 (1)   12 digest bytes u32 (16)   16 cluster size u32
 *   20 reserved u32        24 virtual size u64  32 cluster count u64       40..63 zero
 * then `clusterCount` digests: the first 16 bytes of SHA-256 of the cluster's bytes (the last
 * cluster may be short), or 16 zero bytes for a cluster that is all zeros.
 */
export const INDEX_MAGIC = 'FERRYIDX';
export const INDEX_VERSION = 1;
export const INDEX_HEADER_BYTES = 64;
export const DIGEST_BYTES = 16;
export const ZERO_DIGEST = new Uint8Array(DIGEST_BYTES);

export interface IndexHeader {
  clusterSize: number;
  virtualSize: number;
  clusterCount: number;
}

export function encodeIndexHeader(h: IndexHeader): Uint8Array {
  const b = Buffer.alloc(INDEX_HEADER_BYTES);
  b.write(INDEX_MAGIC, 0, 'latin1');
  b.writeUInt32BE(INDEX_VERSION, 8);
  b.writeUInt32BE(DIGEST_BYTES, 12);
  b.writeUInt32BE(h.clusterSize, 16);
  b.writeBigUInt64BE(BigInt(h.virtualSize), 24);
  b.writeBigUInt64BE(BigInt(h.clusterCount), 32);
  return b;
}

export function decodeIndexHeader(bytes: Uint8Array): IndexHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < INDEX_HEADER_BYTES || b.toString('latin1', 0, 8) !== INDEX_MAGIC) {
    throw new Error('digest index has no FERRYIDX header');
  }
  const version = b.readUInt32BE(8);
  const digestBytes = b.readUInt32BE(12);
  if (version !== INDEX_VERSION || digestBytes !== DIGEST_BYTES) {
    throw new Error(`digest index version ${version} with ${digestBytes}-byte digests is not supported`);
  }
  return {
    clusterSize: b.readUInt32BE(16),
    virtualSize: Number(b.readBigUInt64BE(24)),
    clusterCount: Number(b.readBigUInt64BE(32)),
  };
}

/** Writes the digest of `data[start, end)` into `out` at `at`. */
export function clusterDigestInto(data: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
  const d = createHash('sha256').update(data.subarray(start, end)).digest();
  out.set(d.subarray(0, DIGEST_BYTES), at);
}

/**
 * Reads digests from an index stream in order: `take(n)` returns the next n digests as one
 * buffer. Holds at most one stream chunk plus the request.
 */
export class IndexReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  header?: IndexHeader;

  constructor(stream: AsyncIterable<Uint8Array>) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  async readHeader(): Promise<IndexHeader> {
    this.header = decodeIndexHeader(await this.bytes(INDEX_HEADER_BYTES));
    return this.header;
  }

  take(count: number): Promise<Uint8Array> {
    return this.bytes(count * DIGEST_BYTES);
  }

  /** Drains the rest (so a verifying stream checks the digest); throws if bytes are left over. */
  async finish(): Promise<void> {
    let extra = this.chunk.length - this.pos;
    for (;;) {
      const r = await this.iterator.next();
      if (r.done) break;
      extra += r.value.length;
    }
    if (extra > 0) throw new Error(`digest index has ${extra} bytes after its last cluster`);
  }

  private async bytes(n: number): Promise<Uint8Array> {
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    const out = new Uint8Array(n);
    let fill = 0;
    while (fill < n) {
      if (this.pos === this.chunk.length) {
        const r = await this.iterator.next();
        if (r.done) throw new Error(`digest index ended early (wanted ${n - fill} more bytes)`);
        this.chunk = r.value;
        this.pos = 0;
        continue;
      }
      const k = Math.min(n - fill, this.chunk.length - this.pos);
      out.set(this.chunk.subarray(this.pos, this.pos + k), fill);
      fill += k;
      this.pos += k;
    }
    return out;
  }
}
