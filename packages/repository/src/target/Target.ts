import type { PositionalSink, RangeSource } from '@ferry/qcow2';

/** One object as listed by a target. Keys are `/`-separated, relative to the target's root. */
export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

/** An upload that was started but never completed (temp file, S3 multipart upload). */
export interface IncompleteUpload {
  key: string;
  /** Opaque handle for `removeIncomplete` (temp path, S3 upload id). */
  handle: string;
  started: Date;
}

export interface OpenSinkOptions {
  /** Expected final size, if known (chooses the S3 part size so 10,000 parts suffice). */
  sizeHint?: number;
}

/** S3 Object Lock retention modes (governance: a permitted user may bypass it; compliance: nobody). */
export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A target's Object Lock: every committed object is retained `days` from its commit, in `mode`. */
export interface ObjectLockSettings {
  mode: ObjectLockMode;
  days: number;
}

/** The retention of one object version. */
export interface Retention {
  mode: ObjectLockMode;
  until: Date;
}

export interface PutOptions {
  /** Writes the object under retention until then, in the target's mode (targets with `objectLock`). */
  retainUntil?: Date;
}

/**
 * A place where repository objects live: a filesystem path or an S3 bucket (+ prefix).
 * Every write is all-or-nothing: a reader never sees a partly written object.
 */
export interface Target {
  /** Human-readable location, for logs and errors (no secrets). */
  readonly description: string;
  /** Writes a small object atomically, replacing any previous one. */
  put(key: string, data: Uint8Array | string, options?: PutOptions): Promise<void>;
  /** Writes only if the key does not exist yet; returns false when it already did. */
  putIfAbsent(key: string, data: Uint8Array | string, options?: PutOptions): Promise<boolean>;
  /** Writes a stream of unknown length; visible only once it completes. */
  putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<{ size: number }>;
  /** Reads a whole (small) object. Throws ObjectNotFoundError. */
  get(key: string): Promise<Uint8Array>;
  /** Streams an object from start to end. Throws ObjectNotFoundError. */
  getStream(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Size and time of an object, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes an object; absent objects are not an error. */
  delete(key: string): Promise<void>;
  /** A positional sink for the QCOW2 writer (head written last). */
  openSink(key: string, options?: OpenSinkOptions): Promise<PositionalSink>;
  /** Random read access (file reads, S3 ranged GETs). Throws ObjectNotFoundError. */
  openSource(key: string): Promise<RangeSource>;
  /** Uploads under `prefix` that never completed (for garbage collection). */
  listIncomplete(prefix: string): AsyncIterable<IncompleteUpload>;
  removeIncomplete(upload: IncompleteUpload): Promise<void>;
  /** Whether `putIfAbsent` is atomic on this target (S3 servers without If-None-Match: no). */
  supportsAtomicCreate(): Promise<boolean>;
  close(): Promise<void>;
  /** Object Lock of the target (S3 with a bucket created with Object Lock); absent: nothing is ever locked. */
  readonly objectLock?: ObjectLockSettings;
  /**
   * Reads of a source run ahead of its reader on their own (S3: each image streams through
   * long GETs, the socket's buffers ahead of the reader): a restore then reads no blocks ahead
   * and checks them on its own thread (see `Repository.openImage`).
   */
  readonly streamsReads?: boolean;
  /** The current retention of an object (undefined: none, or expired). Targets with `objectLock` only. */
  retention?(key: string): Promise<Retention | undefined>;
  /** Locks an object until `until` in the target's mode, or extends its lock; never shortens one. */
  retain?(key: string, until: Date): Promise<void>;
  /** Checks that the target can lock objects (the bucket has Object Lock enabled). */
  checkObjectLock?(): Promise<void>;
}
