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
export type { Target, ObjectInfo, IncompleteUpload, OpenSinkOptions } from './target/Target';
export { FilesystemTarget } from './target/FilesystemTarget';
export { S3Target, type S3TargetOptions } from './target/S3Target';
export { S3PositionalSink, MIN_PART_SIZE } from './target/S3PositionalSink';
export { FileSink } from './target/FileSink';
export {
  createTarget,
  targetConfigSchema,
  filesystemTargetConfigSchema,
  s3TargetConfigSchema,
  type TargetConfig,
} from './target/targetConfig';
export { Repository, type ChainLayer } from './Repository';
export { AppLock, type AcquireLockOptions } from './operations/AppLock';
export { deleteBackup, type DeleteBackupResult } from './operations/deleteBackup';
export { collectGarbage, pruneUnneeded, neededImages, type GarbageReport } from './operations/gc';
export { verifyRepository, type VerifyReport, type VerifyProblem } from './operations/verify';
export * from './schema/manifest';
export * from './schema/objectRef';
export * from './schema/repositoryInfo';
export * from './schema/volumeRecord';
export { digestOf, sha256Hex, checkObject, verifyingStream } from './digest/sha256';
export { BlockDigestSink, DEFAULT_DIGEST_BLOCK } from './digest/BlockDigestSink';
export { VerifiedRangeSource } from './digest/VerifiedRangeSource';
export * from './schema/imageIndex';
export { ImageStore } from './images/ImageStore';
export { collectImageGarbage, type ImageGarbageReport } from './images/collectImageGarbage';
