/**
 * The byte I/O contracts of the QCOW2 package. They carry no knowledge of where bytes live:
 * a local file implements them here; packages/repository implements them for its targets
 * (a filesystem path, an S3 multipart upload / ranged GET).
 */

/**
 * Where the writer puts an image. Writes arrive in two kinds:
 * - appends: `offset` equals the number of bytes appended so far (strictly sequential);
 * - head writes: anywhere inside `[0, headBytes)`, the region the writer reserved up front
 *   (`reserveHead`) for the header and L1 table, which are only known at the end.
 * An implementation may therefore stream appends out as they come (e.g. S3 parts 2..n) and hold
 * only the head (part 1, padded with the first appended bytes to the minimum part size if needed).
 * Nothing is visible to readers before `commit` resolves; `abort` discards everything.
 *
 * Refinements (packages/qcow2 writer, documented here so implementations agree):
 * - Appends are *issued* in offset order, but up to three may be in flight at once (two batches
 *   of 4 MiB by default, plus one large run written straight from the caller's buffer).
 * - The writer reuses `data` once the returned promise resolves: a sink that keeps the bytes
 *   (e.g. to fill a 5 MiB S3 part) must copy them before resolving.
 * - The head is written exactly once, after the last append, as one write at offset 0 of
 *   `headBytes` bytes; `commit` follows it.
 */
export interface PositionalSink {
  /** Declares the head region; called once, before any write. Appends start at `headBytes`. */
  reserveHead(headBytes: number): Promise<void>;
  write(data: Uint8Array, offset: number): Promise<void>;
  /**
   * Optional: the same write, done before returning (blocking the calling thread). Only used
   * when the caller asks for blocking I/O (`blocking: true`), e.g. a local file in a process
   * that does nothing else; `write` is used otherwise.
   */
  writeSync?(data: Uint8Array, offset: number): void;
  /** Makes the object durable and visible; returns its total length in bytes. */
  commit(): Promise<{ size: number }>;
  abort(): Promise<void>;
}

/** Random read access to an immutable object (a file, an S3 object read with ranged GETs). */
export interface RangeSource {
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * Reads exactly `length` bytes at `offset`; reading past the end is an error
   * (a truncated image must not be mistaken for zeros).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: reads exactly `target.length` bytes at `offset` into `target` (same rules as
   * `read`). When present, the reader and the converters use it to fill reused buffers
   * instead of allocating one per read.
   */
  readInto?(target: Uint8Array, offset: number): Promise<void>;
  /**
   * Optional: `readInto` done before returning (blocking the calling thread). Only used when
   * the caller asks for blocking I/O (`blocking: true`).
   */
  readIntoSync?(target: Uint8Array, offset: number): void;
  /**
   * Optional: an open file descriptor of the source (byte 0 of the file is byte 0 of the
   * source), which blocking readers may `pread` from worker threads (`readThreads`).
   */
  readonly fd?: number;
  close(): Promise<void>;
}

/** Opens the backing file named in an overlay's header, relative to the overlay's own name. */
export type BackingResolver = (options: {
  backingName: string;
  childName: string;
}) => Promise<{ name: string; source: RangeSource }>;

/** Where a hydrated virtual disk goes: a sparse file or a block device. */
export interface DiskSink {
  write(data: Uint8Array, offset: number): Promise<void>;
  /** Optional: `write` done before returning; only used with `blocking: true`. */
  writeSync?(data: Uint8Array, offset: number): void;
  /** True when unwritten ranges read back as zeros (a fresh sparse file): zero runs are skipped. */
  readonly zeroesUnwritten: boolean;
  close(): Promise<void>;
}
