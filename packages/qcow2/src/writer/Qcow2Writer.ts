import type { PositionalSink } from '../io';
import type { CompressionOptions } from '../compress/clusterCodec';
import { CompressionLanes } from '../compress/CompressionLanes';
import { ClusterGeometry } from '../format/ClusterGeometry';
import { MAX_L1_BYTES, MIN_WRITER_CLUSTER_BITS } from '../format/constants';
import { invalidArgument } from '../format/errors';
import { encodeHeaderCluster } from '../format/encodeHeader';
import { LuksKey, type LuksCreateOptions } from '../luks/LuksKey';
import { StreamingQcow2Writer } from './StreamingQcow2Writer';

/**
 * LUKS encryption of a new image (`encrypt.format=luks` as qemu makes it): either a new
 * random master key in a new LUKS header opened by `passphrase`, or an existing `key` (its
 * header and key material are stored as they are: e.g. the previous layer's, so that one
 * passphrase and one key derivation open a whole chain).
 */
export type EncryptionOptions =
  | ({ format: 'luks' } & LuksCreateOptions)
  | { format: 'luks'; key: LuksKey };

/** The message qemu-img gives for the same request (`convert -c` with `encrypt.format`). */
export const COMPRESSION_WITH_ENCRYPTION =
  'compression and encryption cannot be combined: compressed clusters are not encrypted (qemu-img refuses the same: "Compression and encryption not supported at the same time")';

export const DEFAULT_CLUSTER_SIZE = 64 * 1024;
export const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;

export interface Qcow2WriterOptions {
  sink: PositionalSink;
  /** Bytes of the virtual disk; a multiple of 512 (QEMU counts in sectors). */
  virtualSize: number;
  /** 4 KiB .. 2 MiB, a power of two; 64 KiB by default. */
  clusterSize?: number;
  /** Makes an overlay: skipped clusters read from this backing file. */
  backing?: { name: string; format: string };
  /** Size of the sequential writes issued to the sink; 4 MiB by default. */
  batchBytes?: number;
  /**
   * Write with the sink's `writeSync` when it has one: no thread-pool round trip per write,
   * but the calling thread (and its event loop) waits for every write. Meant for a process
   * that does nothing else, on a local file. False by default.
   */
  blocking?: boolean;
  /**
   * Store data clusters compressed (qemu's compressed cluster descriptor): deflate (qemu's
   * compression type "zlib") or zstd (compression type 1, with the incompatible feature bit).
   * A cluster whose compressed form is not smaller is stored as it is, as qemu does.
   * Not with `encryption`.
   */
  compression?: CompressionOptions;
  /** Encrypt data clusters with LUKS (aes-256-xts-plain64 by default). Not with `compression`. */
  encryption?: EncryptionOptions;
}

export interface Qcow2WriteResult {
  /** Bytes of the finished image. */
  imageSize: number;
  /** Guest clusters stored with data (compressed or not). */
  dataClusters: number;
  /** Of those, the clusters stored compressed. */
  compressedClusters: number;
  /** Guest clusters stored as zero-flag entries (overlays only). */
  zeroClusters: number;
  layout: {
    clusterSize: number;
    headClusters: number;
    l1TableOffset: number;
    l2Tables: number;
    refcountBlocks: number;
    refcountTableOffset: number;
    refcountTableClusters: number;
    /** Where the LUKS header area is, in an encrypted image. */
    encryptionHeader?: { headerOffset: number; headerLength: number };
  };
}

/**
 * One-pass QCOW2 v3 writer. Feed guest clusters in increasing index order:
 * - `writeCluster`/`writeClusters` store data (the caller decides what is worth storing);
 * - `markZero` records that a cluster reads as zeros (a zero-flag entry in an overlay, nothing
 *   in a base image where unallocated already reads as zeros);
 * - indexes never mentioned stay unallocated (read from the backing file in an overlay).
 * Data and L2 tables are appended as they come; refcounts, then the header and L1 table
 * (into the head region reserved up front) are written by `finish`.
 */
export interface Qcow2Writer {
  readonly geometry: ClusterGeometry;
  /** Stores one cluster; `data` is a full cluster, or shorter for the last, partial one. */
  writeCluster(index: number, data: Uint8Array): Promise<void>;
  /** Stores consecutive clusters starting at `firstIndex` (`data` spans whole clusters). */
  writeClusters(firstIndex: number, data: Uint8Array): Promise<void>;
  markZero(index: number): Promise<void>;
  finish(): Promise<Qcow2WriteResult>;
  abort(): Promise<void>;
}

export async function createQcow2Writer(
  options: Qcow2WriterOptions,
): Promise<Qcow2Writer> {
  const clusterSize = options.clusterSize ?? DEFAULT_CLUSTER_SIZE;
  const bits = Math.log2(clusterSize);
  if (!Number.isInteger(bits) || bits < MIN_WRITER_CLUSTER_BITS || bits > 21) {
    throw invalidArgument(
      `cluster size ${clusterSize} must be a power of two from 4 KiB to 2 MiB`,
    );
  }
  if (
    !Number.isSafeInteger(options.virtualSize) ||
    options.virtualSize < 0 ||
    options.virtualSize % 512 !== 0
  ) {
    throw invalidArgument(
      `virtual size ${options.virtualSize} must be a non-negative multiple of 512`,
    );
  }
  const geometry = new ClusterGeometry({
    clusterBits: bits,
    virtualSize: options.virtualSize,
  });
  if (geometry.l1Entries * 8 > MAX_L1_BYTES) {
    throw invalidArgument(
      `virtual size ${options.virtualSize} needs an l1 table over 32 MiB; use larger clusters`,
    );
  }
  const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  if (!Number.isSafeInteger(batchBytes) || batchBytes < clusterSize) {
    throw invalidArgument(
      `batch bytes ${batchBytes} must be at least the cluster size ${clusterSize}`,
    );
  }
  if (options.backing) {
    // Validates the name and format before anything is written.
    encodeHeaderCluster({
      geometry,
      l1TableOffset: 0,
      refcountTableOffset: 0,
      refcountTableClusters: 0,
      backing: options.backing,
    });
  }
  if (options.compression && options.encryption) {
    throw invalidArgument(COMPRESSION_WITH_ENCRYPTION);
  }
  const compressor = options.compression
    ? new CompressionLanes({ ...options.compression, clusterSize })
    : undefined;
  const luks = await encryptionKey(options.encryption);
  const l1Clusters = geometry.clustersFor(geometry.l1Entries * 8);
  const headClusters = 1 + l1Clusters;
  await options.sink.reserveHead(headClusters * clusterSize);
  const writer = new StreamingQcow2Writer({
    ...options,
    geometry,
    headClusters,
    batchBytes,
    compressor,
    luks,
  });
  try {
    await writer.writeEncryptionHeader();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
  return writer;
}

async function encryptionKey(
  options: EncryptionOptions | undefined,
): Promise<LuksKey | undefined> {
  if (!options) return undefined;
  if (options.format !== 'luks') {
    throw invalidArgument(
      `encryption.format "${String(options.format)}" must be "luks"`,
    );
  }
  if ('key' in options) {
    if (!(options.key instanceof LuksKey))
      throw invalidArgument('encryption.key must be a LuksKey');
    return options.key;
  }
  return LuksKey.create(options);
}
