import { ConflictError, InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { BackupSummary, RestoreRequest } from '@ferry/plugin-backup-common';
import { Manifest, ObjectNotFoundError, Repository } from '@ferry/repository';
import type { FerryConfig } from '../config/FerryConfig';
import type { ImageRestoreSpec, RestoreSpec } from '../controller/RestoreResource';
import type { OperationIndex } from '../database/OperationIndex';
import type { ClusterRegistry } from '../kubernetes/ClusterRegistry';
import { DiscoveredTypes, discoverResourceTypes } from '../kubernetes/discoverResourceTypes';
import type { ApplicationTarget } from '../mapping/types';
import { isNotFound, KubeClients } from '../pipeline/KubeClients';
import { readBackupObjects } from '../pipeline/readBackupObjects';
import {
  namespaceMapping,
  TransformError,
  transformObjects,
  transformProblems,
} from '../pipeline/restoreTransforms';
import { checkRestoredObjects } from '../access/checkRestoredObjects';
import { checkTransforms, usesPrivilegedPatches } from '../access/checkTransforms';
import { mayWriteInto, RestoreGrants, userGrants } from '../access/RestoreGrants';
import type { TargetRegistry } from '../targets/TargetRegistry';
import { dockerConfigOf } from '../images/registryAccess';
import { protectionError } from '../protection/protectionErrors';

/** What validating a restore request reads: the backup index, targets, clusters and config. */
export interface RestoreValidationDeps {
  clusters: ClusterRegistry;
  targets: TargetRegistry;
  config: FerryConfig;
  index: OperationIndex;
  kube: (cluster: string) => Promise<KubeClients>;
}

/** What a validated request resolves to: everything the Restore resource or the dry run needs. */
export interface ValidatedRestore {
  spec: RestoreSpec;
  cluster: string;
  namespace: string;
  kube: KubeClients;
  types: DiscoveredTypes;
  objects: KubernetesObject[];
  volumes: Array<{ pvc: string; storageClass: string; sizeBytes: number }>;
  repository: Repository;
  manifest: Manifest;
  /** Written only into its own namespace, from a backup taken there, nothing privileged. */
  withinNamespace: boolean;
}

/** The caller's Backstage permissions beyond `backup.restore` on the entity. */
export interface RestorePermissions {
  /** `backup.restore.anywhere`: another namespace or cluster than the application's. */
  anywhere: boolean;
  /** `backup.restore.privileged`: cluster-scoped objects, privileged patches. */
  privileged: boolean;
}

/**
 * Checks a request without writing anything (DESIGN §4 step 1, §8): the caller may write
 * wherever the restore would write (decided first for what the request names, then on the
 * final objects after every transform), the backup exists, is complete and belongs to the
 * entity's application, transforms are well formed and apply, storage classes exist.
 */
export async function validateRestore(
  deps: RestoreValidationDeps,
  options: { target: ApplicationTarget; request: RestoreRequest; permissions: RestorePermissions },
): Promise<ValidatedRestore> {
  const { target, request, permissions } = options;
  const grants = userGrants({ namespace: target.namespace, ...permissions });
  const where = `where the application of ${target.entityRef} lives`;
  // Decided before anything is looked up: a caller without the permission learns nothing more.
  const requestedCluster = request.cluster ?? target.cluster;
  const requestedNamespace = request.namespace ?? target.namespace;
  if (!permissions.anywhere && (requestedCluster !== target.cluster || !mayWriteInto(grants, requestedNamespace))) {
    throw new NotAllowedError(
      `restoring into ${requestedCluster}/${requestedNamespace} (not ${target.cluster}/${target.namespace}, ${where}) ${grants.namespaceRule}`,
    );
  }
  checkTransforms(request.transforms, grants);
  const backup =
    (await deps.index.getBackup({ entityRef: target.entityRef, id: request.backupId }))?.summary ??
    (await backupFromRepositories(deps, target, request.backupId));
  if (!backup) {
    throw new NotFoundError(`backupId: no backup ${request.backupId} of ${target.entityRef}`);
  }
  if (!permissions.anywhere && (backup.cluster !== target.cluster || backup.namespace !== target.namespace)) {
    throw new NotAllowedError(
      `backupId: backup ${backup.id} was taken in ${backup.cluster}/${backup.namespace}, not ${target.cluster}/${target.namespace} (${where}); restoring it ${grants.namespaceRule}`,
    );
  }
  if (backup.phase !== 'Completed' && backup.phase !== 'PartiallyFailed') {
    throw new ConflictError(
      `backupId: backup ${backup.id} is ${backup.phase}; only a Completed or PartiallyFailed backup can be restored`,
    );
  }
  const cluster = request.cluster ?? backup.cluster;
  if (!deps.clusters.clusterNames().includes(cluster)) {
    throw new InputError(`cluster: no cluster named '${cluster}' is configured`);
  }
  const namespace = request.namespace ?? backup.namespace;
  const problems = transformProblems(request.transforms);
  if (problems.length) throw new InputError(`invalid request body: ${problems.join('; ')}`);

  const repository = await deps.targets.repository(backup.target);
  const manifest = await repository.readManifest(target.appId, backup.id).catch(error => {
    throw protectionError(error); // a key the target's Secret lacks: 503 naming both, nothing written
  });
  const spec: RestoreSpec = {
    backupId: backup.id,
    appId: target.appId,
    target: backup.target,
    sourceNamespace: backup.namespace,
    namespace,
    scope: request.scope ?? 'all',
    existing: request.existing ?? 'skip',
    ...(request.omitLabels ? { omitLabels: request.omitLabels } : {}),
    ...(request.omitAnnotations ? { omitAnnotations: request.omitAnnotations } : {}),
    ...(request.transforms ? { transforms: request.transforms } : {}),
    readyTimeoutSeconds: request.readyTimeoutSeconds ?? 120,
    ...(request.imageRestore ? { imageRestore: request.imageRestore } : {}),
  };
  const kube = await deps.kube(cluster);
  const backedUp = await readBackupObjects({ repository, manifest });
  let objects: KubernetesObject[];
  try {
    objects = transformObjects({ objects: backedUp, sourceNamespace: backup.namespace, namespace, spec });
  } catch (error) {
    if (error instanceof TransformError) throw new InputError(error.message);
    throw error;
  }
  const types = await discoverResourceTypes(kube.json);
  const checked = checkRestoredObjects({
    backedUp,
    restored: objects,
    mapping: namespaceMapping({ sourceNamespace: backup.namespace, namespace, namespaceMap: spec.transforms?.namespaceMap }),
    types,
    grants,
  });
  const secretHome = spec.imageRestore?.authSecret
    ? await checkAuthSecret({
        kube,
        imageRestore: spec.imageRestore,
        namespaces: [namespace, deps.config.controller.namespace],
        cluster,
        grants,
        ferryNamespace: deps.config.controller.namespace,
      })
    : undefined;
  const volumes = [];
  for (const volume of spec.scope === 'metadata-only' ? [] : manifest.volumes) {
    const claim = objects.find(
      o => o.kind === 'PersistentVolumeClaim' && o.metadata?.name === volume.pvc && o.metadata?.namespace === namespace,
    ) as (KubernetesObject & { spec?: { storageClassName?: string } }) | undefined;
    const storageClass = claim?.spec?.storageClassName ?? '';
    if (storageClass) {
      const exists = await kube.json
        .get(`/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(storageClass)}`)
        .then(
          () => true,
          error => (isNotFound(error) ? false : Promise.reject(error)),
        );
      if (!exists) {
        throw new InputError(
          `transforms.storageClassMap: storage class '${storageClass}' of claim ${volume.pvc} does not exist in cluster ${cluster}; map it to one that does`,
        );
      }
    }
    volumes.push({ pvc: volume.pvc, storageClass, sizeBytes: volume.virtualSize });
  }
  // A Restore resource outside Ferry's namespace carries only that namespace's power (§8): one
  // that needs more lives in Ferry's namespace, where only the API and platform operators write.
  const withinNamespace =
    cluster === backup.cluster &&
    namespace === backup.namespace &&
    [...checked.namespaces].every(n => n === namespace) &&
    checked.clusterScoped === 0 &&
    !usesPrivilegedPatches(spec.transforms) &&
    secretHome !== deps.config.controller.namespace;
  return { spec, cluster, namespace, kube, types, objects, volumes, repository, manifest, withinNamespace };
}

/**
 * A committed backup found on a target when the index does not know it (disaster recovery: an
 * empty database). Its manifest says where it was taken; a committed backup is restorable.
 */
async function backupFromRepositories(
  deps: RestoreValidationDeps,
  target: ApplicationTarget,
  backupId: string,
): Promise<BackupSummary | undefined> {
  for (const name of deps.targets.names()) {
    const repository = await deps.targets.repository(name);
    const manifest = await repository.readManifest(target.appId, backupId).catch(error => {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw protectionError(error);
    });
    if (!manifest) continue;
    const metadata = manifest.metadata as { cluster?: string; namespace?: string; type?: string };
    return {
      id: backupId,
      entityRef: target.entityRef,
      cluster: metadata.cluster ?? target.cluster,
      namespace: metadata.namespace ?? target.namespace,
      target: name,
      kind: metadata.type === 'incremental' ? 'incremental' : 'full',
      phase: 'Completed',
      trigger: { type: 'kubernetes' },
      createdAt: manifest.createdAt,
      completedAt: manifest.committedAt,
    };
  }
  return undefined;
}

/**
 * `imageRestore.authSecret` must be registry credentials where the image Job can find them: the
 * target namespace, else Ferry's. One of Ferry's namespace is the platform's: it pushes only into
 * the default repository (`ferry/<source namespace>`) and never over an existing tag, unless the
 * caller holds privileged grants. Returns the namespace it was found in.
 */
async function checkAuthSecret(options: {
  kube: KubeClients;
  imageRestore: ImageRestoreSpec;
  namespaces: string[];
  cluster: string;
  grants: RestoreGrants;
  ferryNamespace: string;
}): Promise<string> {
  const name = options.imageRestore.authSecret!;
  for (const namespace of options.namespaces) {
    const secret = await options.kube.core
      .readNamespacedSecret({ namespace, name })
      .catch(error => (isNotFound(error) ? undefined : Promise.reject(error)));
    if (!secret) continue;
    if (!dockerConfigOf(secret)) {
      throw new InputError(
        `imageRestore.authSecret: Secret ${namespace}/${name} holds no registry credentials (a kubernetes.io/dockerconfigjson Secret with .dockerconfigjson is needed)`,
      );
    }
    const platformSecret = namespace === options.ferryNamespace && options.namespaces[0] !== options.ferryNamespace;
    if (platformSecret && !options.grants.privileged) {
      if (options.imageRestore.repository !== undefined) {
        throw new NotAllowedError(
          `imageRestore.repository: pushing with Secret ${namespace}/${name} of Ferry's namespace goes to the default repository; choosing one ${options.grants.privilegeRule}`,
        );
      }
      if (options.imageRestore.overrideImageIfExist) {
        throw new NotAllowedError(
          `imageRestore.overrideImageIfExist: overwriting tags with Secret ${namespace}/${name} of Ferry's namespace ${options.grants.privilegeRule}`,
        );
      }
    }
    return namespace;
  }
  throw new InputError(
    `imageRestore.authSecret: no Secret ${name} in namespace ${options.namespaces.join(' or ')} of cluster ${options.cluster}`,
  );
}
