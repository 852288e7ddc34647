export { backupVolume, type VolumeBackupOptions, type VolumeBackupResult } from './volume/backupVolume';
export { restoreVolume, type VolumeRestoreOptions, type VolumeRestoreResult } from './volume/restoreVolume';
export { parseChangedRanges, toClusterRuns, type ByteRange } from './volume/changedRanges';
export * from './volume/clusterIndex';
export { DatamoverError, EXIT_CODES, toDatamoverError, type DatamoverErrorCode } from './errors';
export type { ProgressEvent, ProgressSink } from './io/Progress';
