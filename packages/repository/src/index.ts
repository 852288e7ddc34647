export * from './errors';
export * from './backupId';
export {
  layout,
  parseBackupKey,
  parseVolumeKey,
  parseImageIndexKey,
  parseImageBlobKey,
  checkName,
  checkBackupId,
  checkDigest,
} from './layout';
export type {
  Target,
  ObjectInfo,
  IncompleteUpload,
  OpenSinkOptions,
  PutOptions,
  ObjectLockMode,
  ObjectLockSettings,
  Retention,
} from './target/Target';
export { FilesystemTarget } from './target/FilesystemTarget';
export { S3Target, type S3TargetOptions } from './target/S3Target';
export { S3PositionalSink, MIN_PART_SIZE } from './target/S3PositionalSink';
export { FileSink } from './target/FileSink';
export {
  createTarget,
  targetConfigSchema,
  filesystemTargetConfigSchema,
  s3TargetConfigSchema,
  objectLockConfigSchema,
  type TargetConfig,
} from './target/targetConfig';
export { Repository, type ChainLayer, type ImageReadOptions, type OpenRepositoryOptions } from './Repository';
export { Keyring, RepositoryKey, keyIdOf, MIN_KEY_BYTES, type KeyLookup } from './crypto/RepositoryKeys';
export { EnvelopeTarget, isEnvelopedKey } from './crypto/EnvelopeTarget';
export {
  sealBytes,
  openBytes,
  sealStream,
  openStream,
  envelopedSize,
  plaintextSizeOf,
  parseEnvelopeHeader,
  isEnvelope,
  ENVELOPE_HEADER_BYTES,
  SEGMENT_BYTES,
} from './crypto/envelope';
export { objectsOfBackup, backupRetention, assertBackupUnlocked } from './operations/lockBackup';
export { AppLock, type AcquireLockOptions } from './operations/AppLock';
export type { CommitBackupOptions } from './operations/commitBackup';
export { deleteBackup, type DeleteBackupResult } from './operations/deleteBackup';
export { collectGarbage, pruneUnneeded, neededImages, deleteUnlessLocked, type GarbageReport } from './operations/gc';
export { verifyRepository, type VerifyReport, type VerifyProblem } from './operations/verify';
export * from './schema/manifest';
export * from './schema/objectRef';
export * from './schema/repositoryInfo';
export * from './schema/volumeRecord';
export { digestOf, sha256Hex, checkObject, verifyingStream } from './digest/sha256';
export { BlockDigestSink, DEFAULT_DIGEST_BLOCK } from './digest/BlockDigestSink';
export { VerifiedRangeSource } from './digest/VerifiedRangeSource';
export { HashPool } from './digest/HashPool';
export * from './schema/imageIndex';
export { ImageStore } from './images/ImageStore';
export { collectImageGarbage, type ImageGarbageReport } from './images/collectImageGarbage';
