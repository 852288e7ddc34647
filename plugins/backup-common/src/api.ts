import type { OperationPhase } from './phases';

/** A full backup is a base image; an incremental one holds only changed clusters. */
export type BackupKind = 'full' | 'incremental';

/** Who or what started an operation. */
export type OperationTrigger =
  | { type: 'user'; userEntityRef: string }
  | { type: 'schedule'; policy: string }
  | { type: 'kubernetes' };

/** One backup of an entity, as listed by `GET /entities/:kind/:namespace/:name/backups`. */
export interface BackupSummary {
  id: string;
  entityRef: string;
  cluster: string;
  namespace: string;
  kind: BackupKind;
  phase: OperationPhase;
  policy?: string;
  target: string;
  trigger: OperationTrigger;
  createdAt: string;
  completedAt?: string;
  /** Bytes of the volumes as the application sees them. */
  logicalBytes?: number;
  /** Bytes written to the target for this backup alone. */
  storedBytes?: number;
  message?: string;
}

/** `GET /clusters`: the clusters Ferry works with (a restore's `cluster` must be one of them). */
export interface ListClustersResponse {
  items: Array<{ name: string }>;
}

export interface ListBackupsResponse {
  entityRef: string;
  items: BackupSummary[];
  totalCount: number;
}

/** One restore of an entity's backup, as listed by `GET /entities/:kind/:namespace/:name/restores`. */
export interface RestoreSummary {
  id: string;
  entityRef: string;
  backupId: string;
  cluster: string;
  namespace: string;
  phase: OperationPhase;
  trigger: OperationTrigger;
  createdAt: string;
  completedAt?: string;
  message?: string;
}

export interface ListRestoresResponse {
  entityRef: string;
  items: RestoreSummary[];
  totalCount: number;
}

export interface HealthResponse {
  status: 'ok';
}
