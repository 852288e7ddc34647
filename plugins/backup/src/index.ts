/**
 * Ferry's frontend plugin: Backups and Restores tabs for catalog entities, the restore wizard,
 * an overview card and the platform page.
 *
 * @packageDocumentation
 */
export {
  backupPlugin,
  BackupPlatformPage,
  EntityBackupsContent,
  EntityBackupStatusCard,
  EntityRestoresContent,
} from './plugin';
export { backupApiRef } from './api/BackupApi';
export type { BackupApi, PageRequest, StreamOptions } from './api/BackupApi';
export { BackupClient } from './api/BackupClient';
export { backupsRouteRef, platformRouteRef, restoresRouteRef } from './routes';
export { isBackupAvailable } from '@ferry/plugin-backup-common';
