import type { ApplicationTarget } from '../mapping/types';
import { BackupResource, ENTITY_REF_ANNOTATION } from './BackupResource';

/** Annotation with the repository application id; set by the API, derived otherwise. */
export const APP_ID_ANNOTATION = 'ferry.io/app-id';

/**
 * What a Backup resource asks for, as an ApplicationTarget. A Backup made with kubectl may lack
 * the entity annotation: its application id is then `<cluster>.<namespace>`.
 */
export function backupTarget(cluster: string, backup: BackupResource): ApplicationTarget {
  const annotations = backup.metadata.annotations ?? {};
  const entityRef = annotations[ENTITY_REF_ANNOTATION] ?? '';
  const appId =
    annotations[APP_ID_ANNOTATION] ??
    (entityRef
      ? entityRef.toLocaleLowerCase('en-US').replace(/[:/]/g, '.')
      : `${cluster}.${backup.metadata.namespace}`);
  return {
    entityRef,
    appId,
    cluster,
    namespace: backup.metadata.namespace,
    application: {
      helmReleases: backup.spec.application.helmReleases ?? [],
      labelSelectors: backup.spec.application.labelSelectors ?? [],
      wholeNamespace: backup.spec.application.wholeNamespace ?? false,
    },
    policy: backup.spec.policy,
  };
}
