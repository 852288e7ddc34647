import type { RangeSource } from '../io';
import { readU32 } from '../codec/bigEndian';
import { ClusterGeometry } from '../format/ClusterGeometry';
import { HeaderField, MIN_CLUSTER_BITS } from '../format/constants';
import {
  decompressCluster,
  decompressClusterSync,
} from '../compress/clusterCodec';
import { corrupt } from '../format/errors';
import {
  decodeHeader,
  headerBytesNeeded,
  type CompressionType,
  type Qcow2Header,
} from '../format/header';
import {
  COMPRESSED,
  EntryDecoder,
  UNALLOCATED,
  ZERO,
  zeroEntriesEnd,
} from '../format/tableEntries';
import type { LuksKey, Passphrase } from '../luks/LuksKey';
import { LuksKeyCache } from '../luks/LuksKeyCache';
import type { SectorCipher } from '../luks/SectorCipher';
import {
  CompressedPart,
  ImageLayer,
  LayerExtent,
  pushExtent,
} from './ImageLayer';
import { L2Cache } from './L2Cache';
import { readSourceInto } from './readSource';

export const DEFAULT_L2_CACHE_BYTES = 1024 * 1024;

/**
 * Read access to one QCOW2 image (its active layer; internal snapshots are ignored).
 * Holds the header, the L1 table entries the virtual disk needs, and a bounded L2 cache.
 */
export class Qcow2Image implements ImageLayer {
  readonly format = 'qcow2' as const;
  readonly granularity: number;
  readonly virtualSize: number;
  readonly backing?: { name: string; format?: string };
  readonly geometry: ClusterGeometry;
  readonly compressionType: CompressionType;
  readonly cipher?: SectorCipher;
  /** The decompressed cluster read last (a cluster read in several parts is decompressed once). */
  private lastCluster?: { hostOffset: number; bytes: Buffer };

  private constructor(
    readonly name: string,
    readonly source: RangeSource,
    readonly fileSize: number,
    readonly header: Qcow2Header,
    private readonly l1: Uint8Array,
    private readonly decoder: EntryDecoder,
    private readonly cache: L2Cache,
    /** The unlocked LUKS key of an encrypted image (a writer may reuse it for an overlay). */
    readonly luksKey?: LuksKey,
  ) {
    this.geometry = header.geometry;
    this.granularity = header.geometry.clusterSize;
    this.virtualSize = header.geometry.virtualSize;
    this.backing = header.backing;
    this.compressionType = header.compressionType;
    this.cipher = luksKey?.cipher;
  }

  /**
   * Parses and validates the header and L1 table of `source`; reads at most 2 MiB + L1 (and
   * the LUKS header area of an encrypted image, which `passphrase` unlocks).
   */
  static async open(options: {
    source: RangeSource;
    name: string;
    l2CacheBytes?: number;
    /** Opens an encrypted (LUKS) image; without it, such an image is a `passphrase-missing` error. */
    passphrase?: Passphrase;
    /** Unlocked keys shared by the layers of a chain (one key derivation per distinct header). */
    keys?: LuksKeyCache;
  }): Promise<Qcow2Image> {
    const { source, name } = options;
    const fileSize = await source.size();
    const first = await source.read(
      0,
      Math.min(fileSize, 2 ** MIN_CLUSTER_BITS),
    );
    let bytes = first;
    if (first.length >= HeaderField.clusterBits + 4) {
      const need = headerBytesNeeded({
        fileSize,
        clusterBits: readU32(first, HeaderField.clusterBits),
      });
      if (need > first.length) bytes = await source.read(0, need);
    }
    const header = decodeHeader({ bytes, fileSize });
    const { geometry } = header;
    const l1 =
      geometry.l1Entries > 0
        ? await source.read(header.l1TableOffset, geometry.l1Entries * 8)
        : new Uint8Array(0);
    const decoder = new EntryDecoder({
      version: header.version,
      clusterSize: geometry.clusterSize,
      fileSize,
      imageName: name,
      encrypted: Boolean(header.encryption),
    });
    const cache = new L2Cache({
      tableBytes: geometry.clusterSize,
      maxBytes: options.l2CacheBytes ?? DEFAULT_L2_CACHE_BYTES,
    });
    const luksKey = header.encryption
      ? await (options.keys ?? new LuksKeyCache()).open({
          source,
          pointer: header.encryption,
          passphrase: options.passphrase,
          imageName: name,
        })
      : undefined;
    return new Qcow2Image(
      name,
      source,
      fileSize,
      header,
      l1,
      decoder,
      cache,
      luksKey,
    );
  }

  /**
   * Fills `target` with the guest bytes of a compressed part of this image (from
   * {@link mapRange}): the cluster's bytes are read and decompressed (in the thread pool, or
   * on the calling thread with `blocking`).
   */
  async readCompressed(
    part: CompressedPart,
    target: Uint8Array,
    blocking = false,
  ): Promise<void> {
    let cluster = this.lastCluster;
    if (!cluster || cluster.hostOffset !== part.hostOffset) {
      const input = Buffer.allocUnsafe(part.compressedBytes);
      if (blocking && this.source.readIntoSync)
        this.source.readIntoSync(input, part.hostOffset);
      else await readSourceInto(this.source, input, part.hostOffset);
      const request = {
        type: this.compressionType,
        bytes: input,
        clusterSize: this.geometry.clusterSize,
        what: `guest offset ${part.clusterOffset} of ${this.name}`,
      };
      const bytes = blocking
        ? decompressClusterSync(request)
        : await decompressCluster(request);
      cluster = { hostOffset: part.hostOffset, bytes };
      this.lastCluster = cluster;
    }
    const from = part.offset - part.clusterOffset;
    target.set(cluster.bytes.subarray(from, from + part.length));
  }

  /**
   * The L2 table of `l1Index`, or undefined when that part of the disk has none. The buffer
   * belongs to the cache: use it synchronously after awaiting, never keep it.
   */
  async l2Table(l1Index: number): Promise<Uint8Array | undefined> {
    const offset = this.decoder.l1(this.l1, l1Index);
    if (offset === UNALLOCATED) return undefined;
    const { clusterSize } = this.geometry;
    if (offset + clusterSize > this.fileSize) {
      throw corrupt(
        `l2 table at ${offset} of ${this.name} runs past the end of the file (${this.fileSize} bytes)`,
      );
    }
    return this.cache.get(l1Index, table =>
      readSourceInto(this.source, table, offset),
    );
  }

  async mapRange(
    offset: number,
    length: number,
    out: LayerExtent[],
  ): Promise<void> {
    const { clusterSize, l2Span, l2Entries } = this.geometry;
    const end = Math.min(offset + length, this.virtualSize);
    let position = offset;
    while (position < end) {
      const l1Index = Math.floor(position / l2Span);
      const spanEnd = Math.min(end, (l1Index + 1) * l2Span);
      const table = await this.l2Table(l1Index);
      if (!table) {
        pushExtent(out, {
          kind: 'unallocated',
          offset: position,
          length: spanEnd - position,
        });
        position = spanEnd;
        continue;
      }
      while (position < spanEnd) {
        const cluster = Math.floor(position / clusterSize);
        const clusterStart = cluster * clusterSize;
        const index = cluster % l2Entries;
        let pieceEnd = Math.min(spanEnd, clusterStart + clusterSize);
        const entry = this.decoder.l2(table, index, clusterStart);
        if (entry === COMPRESSED) {
          const where = this.decoder.compressed(table, index, clusterStart);
          out.push({
            kind: 'compressed',
            offset: position,
            length: pieceEnd - position,
            hostOffset: where.hostOffset,
            compressedBytes: where.bytes,
            clusterOffset: clusterStart,
          });
          position = pieceEnd;
          continue;
        }
        if (entry === UNALLOCATED && pieceEnd < spanEnd) {
          // The run of unallocated clusters this one starts, as one piece.
          const limit =
            index + Math.ceil((spanEnd - clusterStart) / clusterSize);
          const runEnd = zeroEntriesEnd(table, index + 1, limit);
          pieceEnd = Math.min(
            spanEnd,
            clusterStart + (runEnd - index) * clusterSize,
          );
        }
        const pieceLength = pieceEnd - position;
        const last = out[out.length - 1];
        if (entry >= 0) {
          const hostOffset = entry + (position - clusterStart);
          if (
            last &&
            last.kind === 'data' &&
            last.offset + last.length === position &&
            last.hostOffset + last.length === hostOffset
          ) {
            last.length += pieceLength;
          } else {
            out.push({
              kind: 'data',
              offset: position,
              length: pieceLength,
              hostOffset,
            });
          }
        } else {
          const kind = entry === ZERO ? 'zero' : 'unallocated';
          if (
            last &&
            last.kind === kind &&
            last.offset + last.length === position
          ) {
            last.length += pieceLength;
          } else {
            out.push({ kind, offset: position, length: pieceLength });
          }
        }
        position = pieceEnd;
      }
    }
  }
}
