import { NotAllowedError } from '@backstage/errors';
import type { Manifest } from '@ferry/repository';
import { BackupResource, ENTITY_REF_ANNOTATION } from '../controller/BackupResource';
import { APP_ID_ANNOTATION } from '../controller/backupTarget';
import type { RestoreResource } from '../controller/RestoreResource';
import type { ApplicationTarget } from '../mapping/types';
import { resourceGrants, RestoreGrants } from './RestoreGrants';

/** Looks a catalog entity up and resolves the application it stands for (undefined: none). */
export type EntityResolver = (entityRef: string) => Promise<ApplicationTarget | undefined>;

/**
 * A Backup resource carries only the power of its namespace (DESIGN §8): it backs up its own
 * namespace (the runner never reads another), and it may file the backup only under an entity
 * whose application lives in that namespace of this cluster, so that nobody can slip backups into
 * another application's history or chain. One in Ferry's own namespace acts for the platform.
 */
export async function checkBackupScope(options: {
  backup: BackupResource;
  cluster: string;
  ferryNamespace: string;
  resolveEntity: EntityResolver;
}): Promise<void> {
  const { backup, cluster } = options;
  const home = backup.metadata.namespace;
  if (home === options.ferryNamespace) return;
  const annotations = backup.metadata.annotations ?? {};
  const entityRef = annotations[ENTITY_REF_ANNOTATION];
  const appId = annotations[APP_ID_ANNOTATION];
  if (!entityRef) {
    const own = `${cluster}.${home}`;
    if (appId !== undefined && appId !== own) {
      throw new NotAllowedError(
        `annotation ${APP_ID_ANNOTATION}: a Backup in namespace ${home} without ${ENTITY_REF_ANNOTATION} files its backups under ${own}, not ${appId}`,
      );
    }
    return;
  }
  const target = await options.resolveEntity(entityRef);
  if (!target) {
    throw new NotAllowedError(
      `annotation ${ENTITY_REF_ANNOTATION}: ${entityRef} is not a catalog entity whose application Ferry backs up`,
    );
  }
  if (target.cluster !== cluster || target.namespace !== home) {
    throw new NotAllowedError(
      `annotation ${ENTITY_REF_ANNOTATION}: a Backup in namespace ${home} may only back up ${home}, and the application of ${entityRef} is in namespace ${target.namespace} of cluster ${target.cluster}`,
    );
  }
  if (appId !== undefined && appId !== target.appId) {
    throw new NotAllowedError(`annotation ${APP_ID_ANNOTATION}: ${entityRef} files its backups under ${target.appId}, not ${appId}`);
  }
}

/** What a Restore resource may do, and the facts it may rely on (not its own spec's word). */
export interface RestoreScope {
  grants: RestoreGrants;
  /** The namespace the backup was taken in, as its manifest records it. */
  sourceNamespace: string;
  /** Where `imageRestore.authSecret` may be read from. */
  secretNamespaces: string[];
}

/**
 * A Restore resource outside Ferry's namespace carries only the power of its namespace X
 * (DESIGN §8): it restores only backups whose manifest says they were taken in X of this
 * cluster, only into X, with no privileged change, and reads registry Secrets only from X.
 * Whoever may create a Restore in X could already read and write X; nothing more.
 */
export function restoreScope(options: {
  restore: RestoreResource;
  manifest: Manifest;
  cluster: string;
  ferryNamespace: string;
}): RestoreScope {
  const { restore, cluster, ferryNamespace } = options;
  const home = restore.metadata.namespace;
  const grants = resourceGrants({ resourceNamespace: home, ferryNamespace });
  const recorded = options.manifest.metadata as { namespace?: unknown; cluster?: unknown };
  const taken = typeof recorded.namespace === 'string' ? recorded.namespace : undefined;
  const takenIn = typeof recorded.cluster === 'string' ? recorded.cluster : undefined;
  if (home === ferryNamespace) {
    return {
      grants,
      sourceNamespace: taken ?? restore.spec.sourceNamespace,
      secretNamespaces: [restore.spec.namespace ?? home, ferryNamespace],
    };
  }
  const platform = `(platform operators create Restores in ${ferryNamespace})`;
  if (restore.spec.namespace !== undefined && restore.spec.namespace !== home) {
    throw new NotAllowedError(
      `spec.namespace: a Restore in namespace ${home} may only restore into ${home}, not ${restore.spec.namespace} ${platform}`,
    );
  }
  if (taken !== home || (takenIn !== undefined && takenIn !== cluster)) {
    throw new NotAllowedError(
      `spec.backupId: backup ${restore.spec.backupId} of ${restore.spec.appId} was taken in namespace ${taken ?? '(unrecorded)'}${takenIn ? ` of cluster ${takenIn}` : ''}; a Restore in namespace ${home} may only restore backups taken in ${home} of cluster ${cluster} ${platform}`,
    );
  }
  return { grants, sourceNamespace: home, secretNamespaces: [home] };
}
