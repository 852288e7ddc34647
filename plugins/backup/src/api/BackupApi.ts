import { createApiRef } from '@backstage/core-plugin-api';
import type { CompoundEntityRef } from '@backstage/catalog-model';
import type {
  ListBackupsResponse,
  ListRestoresResponse,
} from '@ferry/plugin-backup-common';

export interface PageRequest {
  limit: number;
  offset: number;
}

/** The client side of Ferry's REST API (`/api/backup`). */
export interface BackupApi {
  listBackups(entity: CompoundEntityRef, page: PageRequest): Promise<ListBackupsResponse>;
  listRestores(entity: CompoundEntityRef, page: PageRequest): Promise<ListRestoresResponse>;
}

export const backupApiRef = createApiRef<BackupApi>({ id: 'plugin.backup.api' });
