/**
 * Ferry's frontend plugin: Backups and Restores tabs for catalog entities.
 *
 * @packageDocumentation
 */
export { backupPlugin, EntityBackupsContent, EntityRestoresContent } from './plugin';
export { backupApiRef } from './api/BackupApi';
export type { BackupApi, PageRequest } from './api/BackupApi';
export { BackupClient } from './api/BackupClient';
export { isBackupAvailable } from '@ferry/plugin-backup-common';
