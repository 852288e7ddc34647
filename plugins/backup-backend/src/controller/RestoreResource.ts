import type { JsonPatchOperation, RestoredImage, RestoredObject } from '@ferry/plugin-backup-common';
import type { BackupStatus, OperationMetadata } from './BackupResource';

/** The `Restore` custom resource (crds/ferry.io_restores.yaml), in the target namespace. */
export const RESTORE_PLURAL = 'restores';
export const RESTORE_KIND = 'Restore';
/** Label on the temporary objects of a restore. */
export const RESTORE_LABEL = 'ferry.io/restore';
/** Annotation with the restore id chosen by the API; the resource's uid otherwise. */
export const RESTORE_ID_ANNOTATION = 'ferry.io/restore-id';

export interface RestoreTransforms {
  namespaceMap?: Record<string, string>;
  storageClassMap?: Record<string, string>;
  patches?: Array<{
    target: { kind: string; name?: string; labelSelector?: string };
    operations: JsonPatchOperation[];
  }>;
}

export interface RestoreSpec {
  backupId: string;
  /** The application id of the backup in the repository. */
  appId: string;
  /** The target (Ferry configuration name) holding the backup. */
  target: string;
  /** The namespace the backup was taken in. */
  sourceNamespace: string;
  /** Where to restore; the Restore's own namespace when absent. */
  namespace?: string;
  scope?: 'all' | 'metadata-only' | 'data-only';
  existing?: 'skip' | 'patch';
  omitLabels?: string[];
  omitAnnotations?: string[];
  transforms?: RestoreTransforms;
  readyTimeoutSeconds?: number;
  /** Push images whose original is unreachable to this registry and repoint the workloads. */
  imageRestore?: ImageRestoreSpec;
}

export interface ImageRestoreSpec {
  /** Registry host[:port]. */
  registry: string;
  /** Repository prefix in the registry (default `ferry/<source namespace>`). */
  repository?: string;
  /** A dockerconfigjson Secret with push credentials (target namespace, else Ferry's namespace). */
  authSecret?: string;
  overrideImageIfExist?: boolean;
}

/** A Restore's status: the backup status fields it shares, plus the outcome per object. */
export interface RestoreStatus extends BackupStatus {
  restoreId?: string;
  objects?: RestoredObject[];
  /** What was done about each image (set once the image step ran; a resumed run keeps it). */
  imageOutcomes?: RestoredImage[];
}

export interface RestoreResource {
  apiVersion: string;
  kind: string;
  metadata: OperationMetadata;
  spec: RestoreSpec;
  status?: RestoreStatus;
}

/** The restore's id: the API's annotation, else the resource's uid (kubectl). */
export function restoreIdOf(restore: RestoreResource): string {
  return (
    restore.status?.restoreId ??
    restore.metadata.annotations?.[RESTORE_ID_ANNOTATION] ??
    restore.metadata.uid ??
    restore.metadata.name
  );
}

/** Where a Restore puts the application. */
export function restoreNamespaceOf(restore: RestoreResource): string {
  return restore.spec.namespace ?? restore.metadata.namespace;
}
