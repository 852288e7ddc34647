import type {
  BackupProtection,
  HookResult,
  OperationFailure,
  OperationPhase,
  TimelineEntry,
  VolumeProgress,
} from '@ferry/plugin-backup-common';

/** The `Backup` custom resource (crds/ferry.io_backups.yaml). */
export const FERRY_GROUP = 'ferry.io';
export const FERRY_VERSION = 'v1alpha1';
export const BACKUP_PLURAL = 'backups';
export const BACKUP_KIND = 'Backup';

/** Annotation on a Backup linking it to its catalog entity. */
export const ENTITY_REF_ANNOTATION = 'ferry.io/entity-ref';
/** Annotation recording who asked for it (a user entity ref), when it came from the UI. */
export const REQUESTED_BY_ANNOTATION = 'ferry.io/requested-by';
/** Labels on everything Ferry creates (DESIGN §3). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'ferry';
export const BACKUP_LABEL = 'ferry.io/backup';

export interface BackupHook {
  podSelector: string;
  container?: string;
  command: string[];
  timeoutSeconds?: number;
  retries?: number;
  ignoreFailure?: boolean;
}

export interface BackupSpec {
  application: {
    helmReleases?: string[];
    labelSelectors?: string[];
    wholeNamespace?: boolean;
  };
  target: string;
  type?: 'Auto' | 'Full' | 'Incremental';
  policy?: string;
  skipImageBackup?: boolean;
  hooks?: { mode?: 'Sequential' | 'Parallel'; pre?: BackupHook[]; post?: BackupHook[] };
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** Per-volume state; `result` is the datamover's final JSON once its Job succeeded. */
export interface VolumeStatus extends VolumeProgress {
  parentBackupId?: string;
  record?: { key: string; size: number; digest: string };
  /** When its steps happened (pipeline/volumeTimings.ts). */
  timings?: Record<string, string>;
}

/** The image Job's outcome: the image index to commit and each image's copy. */
export interface ImageBackupStatus {
  phase: 'Running' | 'Completed' | 'Failed';
  index?: { key: string; size: number; digest: string };
  images?: Array<{ image: string; digest?: string; stored: boolean; bytes?: number; newBytes?: number; reason?: string }>;
  reason?: string;
}

export interface BackupStatus {
  phase?: OperationPhase;
  type?: 'Full' | 'Incremental';
  progress?: string;
  backupId?: string;
  /** The node of the controller that runs it (for diagnostics after a crash). */
  runner?: string;
  startedAt?: string;
  completedAt?: string;
  step?: string;
  conditions?: Condition[];
  volumes?: VolumeStatus[];
  timeline?: TimelineEntry[];
  failures?: OperationFailure[];
  logicalBytes?: number;
  storedBytes?: number;
  resources?: Array<{ apiVersion: string; kind: string; name: string; namespace?: string }>;
  images?: string[];
  /** The copy of the images into the repository (DESIGN §3 step 6). */
  imageBackup?: ImageBackupStatus;
  hooks?: HookResult[];
  /** When the snapshots of all volumes were taken (pre-hooks → snapshots → post-hooks done). */
  snapshotsAt?: string;
  message?: string;
  /** Encryption, compression and Object Lock of the committed backup (from its manifest). */
  protection?: BackupProtection;
}

/** The object metadata Ferry reads of its Backup and Restore resources. */
export interface OperationMetadata {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface BackupResource {
  apiVersion: string;
  kind: string;
  metadata: OperationMetadata;
  spec: BackupSpec;
  status?: BackupStatus;
}
