import type { BackupKind, BackupSummary, RestoreSummary } from './api';

/**
 * Ferry's REST API contract beyond the listings (`api.ts`). Paths are relative to
 * `/api/backup`; `:entity` is `entities/:kind/:namespace/:name`.
 *
 * GET    :entity/plan                      → BackupPlan
 * POST   :entity/backups                   CreateBackupRequest → 201 BackupSummary
 * GET    :entity/backups/:id               → BackupDetail
 * GET    :entity/backups/:id/events        → text/event-stream of `progress` (BackupDetail), then `end`
 * DELETE :entity/backups/:id               → 204, or 409 with the reason (retention, chain)
 * POST   :entity/restores                  RestoreRequest → 201 RestoreSummary, or 200 DryRunResult
 * GET    :entity/restores/:id              → RestoreDetail
 * GET    :entity/restores/:id/events       → text/event-stream of `progress` (RestoreDetail), then `end`
 * GET    :entity/status                    → EntityBackupStatus
 * GET    platform                          → PlatformOverview (permission backup.admin.read)
 */

/** What a backup of an entity contains, resolved from its annotations (DESIGN §2). */
export interface ApplicationSpec {
  helmReleases: string[];
  labelSelectors: string[];
  /** Every namespaced resource of the namespace. */
  wholeNamespace: boolean;
}

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface PlannedResource extends ResourceRef {
  /** Why it is included. */
  source: 'helm' | 'selector' | 'namespace' | 'claim-template';
}

export interface PlannedVolume {
  pvc: string;
  storageClass?: string;
  volumeMode: 'Filesystem' | 'Block';
  sizeBytes: number;
  csiDriver?: string;
  volumeSnapshotClass?: string;
}

export interface BackupPlan {
  entityRef: string;
  cluster: string;
  namespace: string;
  application: ApplicationSpec;
  target: string;
  policy?: string;
  resources: PlannedResource[];
  volumes: PlannedVolume[];
  images: string[];
  /** Things that will not be backed up, or may fail (e.g. a PVC whose driver has no snapshot class). */
  warnings: string[];
}

export type BackupTypeRequest = 'auto' | 'full' | 'incremental';

export interface CreateBackupRequest {
  /** `auto`: incremental when the latest chain is intact and the policy allows it. */
  type?: BackupTypeRequest;
  target?: string;
  policy?: string;
  skipImageBackup?: boolean;
}

export type VolumePhase =
  | 'Pending'
  | 'Snapshotting'
  | 'Exposing'
  | 'Transferring'
  | 'Completed'
  | 'Failed';

export interface VolumeProgress {
  pvc: string;
  phase: VolumePhase;
  bytesTotal?: number;
  bytesDone?: number;
  /** Bytes this backup added to the target for this volume. */
  storedBytes?: number;
  type?: BackupKind;
  /** Backup ids of the volume's chain, full first, this backup last. */
  chain?: string[];
  reason?: string;
}

export interface TimelineEntry {
  time: string;
  step: string;
  message: string;
}

export interface OperationFailure {
  kind: 'Volume' | 'Resource' | 'Hook' | 'Image';
  name: string;
  reason: string;
}

/**
 * One run of a backup hook in one pod (DESIGN §3 step 3). `source` says where it was declared:
 * `annotation` = Velero's `pre.hook.backup.velero.io/*` / `post.hook.backup.velero.io/*` on the
 * pod, `spec` = the Backup's `spec.hooks`.
 */
export interface HookResult {
  /** `<pod>/<container>: <command>`, as failures name it. */
  name: string;
  stage: 'pre' | 'post';
  source: 'annotation' | 'spec';
  /** Absent when no running pod matched a spec hook's selector. */
  pod?: string;
  container?: string;
  command: string[];
  /**
   * `Failed`: it ran and failed, timed out, or could not run (e.g. an invalid annotation);
   * `Skipped`: not run because an earlier pre-hook failed with on-error `Fail`.
   */
  outcome: 'Succeeded' | 'Failed' | 'Skipped';
  /** `Fail`: a failure fails the backup (pre) or makes it PartiallyFailed (post); `Continue`: recorded only. */
  onError: 'Fail' | 'Continue';
  /** The command's exit code, when it ran to its end. */
  exitCode?: number;
  durationMs?: number;
  /** Why it failed or was skipped, in words. */
  message?: string;
  /** The last lines of its output, trimmed. */
  stdout?: string;
  stderr?: string;
}

/** How a backup is protected at rest (issue 20); absent parts: in the clear, uncompressed, not locked. */
export interface BackupProtection {
  /** Encrypted (LUKS volumes, everything else in an authenticated envelope) with the key of this id (a keyed hash, never the key). */
  encryption?: { keyId: string };
  /** The codec of its compressed volume images. */
  compression?: 'deflate' | 'zstd';
  /** S3 Object Lock: nobody deletes it before `until` (compliance), or only those allowed to bypass governance. */
  lock?: { mode: 'governance' | 'compliance'; until: string };
}

/** How a target protects what it stores (the platform page). */
export interface TargetProtection {
  /** Where the key is (a Secret's namespace, name and data key, never the key) and the current key's id. */
  encryption?: { secret: string; keyId?: string; problem?: string };
  objectLock?: { mode: 'governance' | 'compliance'; days: number };
}

export interface BackupDetail extends BackupSummary {
  /** The Backup resource (namespace/name) driving this backup. */
  resourceName: string;
  /** The pipeline step running now, e.g. "Snapshots", "Transfer". */
  step?: string;
  volumes: VolumeProgress[];
  timeline: TimelineEntry[];
  failures: OperationFailure[];
  resources: ResourceRef[];
  images: Array<{ image: string; digest?: string; stored: boolean }>;
  hooks: HookResult[];
  /** Whether the caller may delete it now, and why not. */
  deletion: { allowed: boolean; reason?: string };
  /** Encryption, compression and lock of what it stored (once committed). */
  protection?: BackupProtection;
}

/** JSON patch operation (RFC 6902) for restore transforms. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface RestoreRequest {
  backupId: string;
  /** Target cluster; the backup's cluster when absent. */
  cluster?: string;
  /** Target namespace; the backup's namespace when absent. */
  namespace?: string;
  dryRun?: boolean;
  /** `metadata-only` restores no volume bytes; `data-only` restores only the volumes. */
  scope?: 'all' | 'metadata-only' | 'data-only';
  /** What to do with objects that already exist. */
  existing?: 'skip' | 'patch';
  omitLabels?: string[];
  omitAnnotations?: string[];
  transforms?: {
    namespaceMap?: Record<string, string>;
    storageClassMap?: Record<string, string>;
    patches?: Array<{
      target: { kind: string; name?: string; labelSelector?: string };
      operations: JsonPatchOperation[];
    }>;
  };
  imageRestore?: {
    registry: string;
    repository?: string;
    /** Secret (type kubernetes.io/dockerconfigjson) in the target namespace. */
    authSecret?: string;
    overrideImageIfExist?: boolean;
  };
  /** How long to wait for workloads to become ready; 0 skips the wait. */
  readyTimeoutSeconds?: number;
}

export interface ObjectChange extends ResourceRef {
  action: 'create' | 'patch' | 'skip';
  reason?: string;
  /** Unified diff of the object as it exists now against what the restore would make it. */
  diff?: string;
}

/** What a restore does about one image its workloads run (DESIGN §4 steps 1 and 3). */
export interface RestoreImagePlan {
  image: string;
  /** Whether the original can be pulled now (checked from Ferry's backend). */
  reachable: boolean;
  /** Whether the backup holds a copy of it. */
  stored: boolean;
  /** `original`: run it as it is; `push`: push the copy (imageRestore) and repoint; `unavailable`: neither. */
  action: 'original' | 'push' | 'unavailable';
  reason?: string;
}

/** What a restore did about one image. */
export interface RestoredImage extends RestoreImagePlan {
  /** The reference the restored workloads run, when the image was pushed. */
  restored?: string;
  /** Pushed under a new tag because the original tag named another image. */
  tagChanged?: boolean;
}

export interface DryRunResult {
  dryRun: true;
  backupId: string;
  cluster: string;
  namespace: string;
  objects: ObjectChange[];
  volumes: Array<{ pvc: string; storageClass: string; sizeBytes: number; action: 'create' | 'skip' }>;
  unreachableImages: string[];
  images: RestoreImagePlan[];
  warnings: string[];
}

export interface RestoredObject extends ResourceRef {
  outcome: 'Created' | 'Patched' | 'Skipped' | 'Failed';
  reason?: string;
}

export interface RestoreDetail extends RestoreSummary {
  resourceName: string;
  step?: string;
  volumes: VolumeProgress[];
  timeline: TimelineEntry[];
  objects: RestoredObject[];
  images: RestoredImage[];
  failures: OperationFailure[];
}

export type ProtectionState = 'protected' | 'at-risk' | 'unprotected';

export interface EntityBackupStatus {
  entityRef: string;
  protection: ProtectionState;
  /** Why, in words: "last backup 3 h ago", "no backup in 4 days", "no backup yet". */
  reason: string;
  lastSuccessfulBackup?: Pick<BackupSummary, 'id' | 'completedAt' | 'kind'>;
  nextScheduledRun?: string;
  policy?: string;
  running?: Pick<BackupSummary, 'id' | 'phase'>;
}

export interface PlatformOverview {
  targets: Array<{
    name: string;
    type: 'filesystem' | 's3';
    healthy: boolean;
    message?: string;
    usedBytes?: number;
    /** Encryption and Object Lock of the target. */
    protection?: TargetProtection;
  }>;
  policies: Array<{
    name: string;
    target: string;
    schedule?: string;
    /** When `schedule` next fires (ISO). */
    nextRun?: string;
    keepLast?: number;
    fullEvery: number;
    skipImageBackup: boolean;
    /** Compressed volume images. */
    compression?: 'deflate' | 'zstd';
  }>;
  coverage: Array<{
    entityRef: string;
    title: string;
    protection: ProtectionState;
    lastBackupAt?: string;
  }>;
  /** One point per day: bytes stored on targets, and what they would be without incrementals. */
  storedBytesOverTime: Array<{ date: string; storedBytes: number; logicalBytes: number }>;
}

export type { BackupSummary, RestoreSummary };
