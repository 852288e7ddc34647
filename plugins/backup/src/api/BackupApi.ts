import { createApiRef } from '@backstage/core-plugin-api';
import type { CompoundEntityRef } from '@backstage/catalog-model';
import type {
  BackupDetail,
  BackupPlan,
  BackupSummary,
  CreateBackupRequest,
  DryRunResult,
  EntityBackupStatus,
  ListBackupsResponse,
  ListClustersResponse,
  ListRestoresResponse,
  PlatformOverview,
  RestoreDetail,
  RestoreOptions,
  RestoreRequest,
  RestoreSummary,
} from '@ferry/plugin-backup-common';

export interface PageRequest {
  limit: number;
  offset: number;
}

/** How to follow a running operation: called with each `progress` event until `end`. */
export interface StreamOptions<T> {
  onProgress: (detail: T) => void;
  /** Aborting closes the stream; the returned promise then resolves. */
  signal?: AbortSignal;
}

/**
 * The client side of Ferry's REST API (`/api/backup`); routes and shapes are in
 * `@ferry/plugin-backup-common` (`operations.ts`).
 */
export interface BackupApi {
  listBackups(entity: CompoundEntityRef, page: PageRequest): Promise<ListBackupsResponse>;
  listRestores(entity: CompoundEntityRef, page: PageRequest): Promise<ListRestoresResponse>;
  getPlan(entity: CompoundEntityRef): Promise<BackupPlan>;
  createBackup(entity: CompoundEntityRef, request: CreateBackupRequest): Promise<BackupSummary>;
  getBackup(entity: CompoundEntityRef, id: string): Promise<BackupDetail>;
  deleteBackup(entity: CompoundEntityRef, id: string): Promise<void>;
  /** Resolves when the server sends `end` (or on abort); rejects when the stream fails. */
  streamBackup(
    entity: CompoundEntityRef,
    id: string,
    options: StreamOptions<BackupDetail>,
  ): Promise<void>;
  /** A dry run (`dryRun: true`) returns the preview; otherwise the restore is created. */
  createRestore(
    entity: CompoundEntityRef,
    request: RestoreRequest & { dryRun: true },
  ): Promise<DryRunResult>;
  createRestore(
    entity: CompoundEntityRef,
    request: RestoreRequest & { dryRun?: false },
  ): Promise<RestoreSummary>;
  getRestore(entity: CompoundEntityRef, id: string): Promise<RestoreDetail>;
  streamRestore(
    entity: CompoundEntityRef,
    id: string,
    options: StreamOptions<RestoreDetail>,
  ): Promise<void>;
  getStatus(entity: CompoundEntityRef): Promise<EntityBackupStatus>;
  getPlatformOverview(): Promise<PlatformOverview>;
  /** The configured clusters a restore may name (`GET /clusters`). */
  listClusters(): Promise<ListClustersResponse>;
  /** Where the signed-in user may restore the entity's backups (`GET …/restore-options`). */
  getRestoreOptions(entity: CompoundEntityRef): Promise<RestoreOptions>;
}

export const backupApiRef = createApiRef<BackupApi>({ id: 'plugin.backup.api' });
