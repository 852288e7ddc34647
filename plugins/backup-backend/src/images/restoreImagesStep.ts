import type { KubernetesObject } from '@kubernetes/client-node';
import type { RestoredImage } from '@ferry/plugin-backup-common';
import type { Manifest, Repository } from '@ferry/repository';
import type { FerryConfig } from '../config/FerryConfig';
import type { RestoreSpec, RestoreStatus } from '../controller/RestoreResource';
import type { StatusRecorder } from '../controller/StatusRecorder';
import { createIfAbsent, isNotFound, KubeClients } from '../pipeline/KubeClients';
import type { OperationOwner } from '../pipeline/OwnerRef';
import { buildDatamoverJob, runDatamoverJob, TargetAccess } from '../pipeline/datamoverJob';
import { tempName } from '../pipeline/tempNames';
import { prepareTargetAccess } from '../targets/targetAccess';
import type { TargetKeys } from '../protection/TargetKeys';
import { planRestoreImages } from './planRestoreImages';
import { combineAccess, prepareRegistryAccess } from './registryAccess';
import { repointImages } from './repointImages';

const IMAGE_TIMEOUT_MS = 2 * 60 * 60_000;

/** The datamover's `image restore` result (packages/datamover README). */
interface ImageRestoreJobResult {
  images: Array<{ original: string; restored?: string; digest?: string; tagChanged: boolean; error?: string }>;
}

/**
 * DESIGN §4 step 3: each image the restored workloads run whose original cannot be pulled is
 * pushed from the backup to `spec.imageRestore.registry` (a datamover Job in the target
 * namespace, with the push credentials of `authSecret`), and the workloads are pointed at the
 * pushed copy, pinned by digest. Images that are reachable stay as they are. Without
 * `imageRestore`, unreachable images are only reported. Returns the objects to apply. A resumed
 * restore reuses the recorded outcome instead of pushing again.
 */
export async function restoreImagesStep(options: {
  kube: KubeClients;
  namespace: string;
  restoreId: string;
  spec: RestoreSpec;
  /** The namespace the backup was taken in (from its manifest). */
  sourceNamespace: string;
  /** Where `imageRestore.authSecret` may be read, in order (the target's first). */
  secretNamespaces: string[];
  objects: KubernetesObject[];
  repository: Repository;
  manifest: Manifest;
  owner: OperationOwner;
  access: TargetAccess;
  config: FerryConfig;
  recorder: StatusRecorder<RestoreStatus>;
  /** Keys of an encrypted target, for a push Job in another namespace. */
  keys?: TargetKeys;
}): Promise<KubernetesObject[]> {
  const { recorder, spec } = options;
  const imageRestore = spec.imageRestore;
  let outcomes = recorder.status.imageOutcomes;
  if (!outcomes) {
    const plans = await planRestoreImages({
      objects: options.objects,
      repository: options.repository,
      manifest: options.manifest,
      imageRestore: Boolean(imageRestore),
      insecureRegistries: options.config.images.insecureRegistries,
      timeoutMs: options.config.images.checkTimeoutSeconds * 1000,
    });
    const toPush = plans.filter(p => p.action === 'push');
    const pushed =
      imageRestore && toPush.length
        ? await push({ ...options, secretHome: await secretHome(options), images: toPush.map(p => p.image) })
        : new Map();
    const failedPushes: RestoredImage[] = [];
    outcomes = plans.map((plan): RestoredImage => {
      const result = pushed.get(plan.image);
      if (plan.action !== 'push') return plan;
      if (!result?.restored) {
        const failed = { ...plan, action: 'unavailable' as const, reason: `push failed: ${result?.error ?? 'the image was not pushed'}` };
        failedPushes.push(failed);
        return failed;
      }
      const restored = result.digest ? `${result.restored}@${result.digest}` : result.restored;
      return { ...plan, restored, tagChanged: result.tagChanged };
    });
    // A push that was asked for and failed is a failure of the restore. An image the backend
    // could not reach is only reported: the cluster may well reach it (its network is not the
    // backend's), and the readiness check says whether the workloads started.
    for (const outcome of failedPushes) {
      await recorder.fail({ kind: 'Image', name: outcome.image, reason: outcome.reason! });
    }
    const count = (action: RestoredImage['action']) => outcomes!.filter(o => o.action === action).length;
    await recorder.event(
      'Images',
      [
        `${outcomes.length} images: ${count('original')} reachable as they are`,
        ...(imageRestore ? [`${outcomes.filter(o => o.restored).length} pushed to ${imageRestore.registry}`] : []),
        `${count('unavailable')} unavailable${count('unavailable') ? ` (${outcomes.filter(o => o.action === 'unavailable').map(o => o.image).join(', ')})` : ''}`,
      ].join(', '),
      { imageOutcomes: outcomes },
    );
  }
  const moved = new Map(outcomes.filter(o => o.restored).map(o => [o.image, o.restored!] as const));
  const pullSecret =
    moved.size && imageRestore?.authSecret
      ? await ensurePullSecret({ ...options, name: imageRestore.authSecret })
      : undefined;
  return repointImages({ objects: options.objects, moved, pullSecret });
}

/** Where `authSecret` is: the first of the allowed namespaces that has it. */
async function secretHome(options: { kube: KubeClients; spec: RestoreSpec; secretNamespaces: string[] }) {
  const name = options.spec.imageRestore?.authSecret;
  if (!name) return undefined;
  for (const namespace of options.secretNamespaces) {
    if (await readSecret(options.kube, namespace, name)) return namespace;
  }
  return undefined;
}

function readSecret(kube: KubeClients, namespace: string, name: string) {
  return kube.core
    .readNamespacedSecret({ namespace, name })
    .catch(error => (isNotFound(error) ? undefined : Promise.reject(error)));
}

/**
 * The restored workloads pull from the restore registry with the same credentials Ferry pushed
 * with: the authSecret of the target namespace, or, only when the platform allows it
 * (`ferry.images.copyAuthSecret`), a copy of the one in Ferry's namespace made there (a lasting
 * object of the application, labelled as Ferry's, not a temporary). Otherwise the workloads get
 * no pull secret from Ferry and the timeline says so.
 */
async function ensurePullSecret(options: {
  kube: KubeClients;
  namespace: string;
  name: string;
  secretNamespaces: string[];
  config: FerryConfig;
  recorder: StatusRecorder<RestoreStatus>;
}): Promise<string | undefined> {
  const { kube, namespace, name } = options;
  if (await readSecret(kube, namespace, name)) return name;
  const ferryNamespace = options.config.controller.namespace;
  const shared = options.secretNamespaces.includes(ferryNamespace) ? await readSecret(kube, ferryNamespace, name) : undefined;
  if (!shared) return undefined;
  if (!options.config.images.copyAuthSecret) {
    await options.recorder.event(
      'Images',
      `Secret ${name} of ${ferryNamespace} was used to push, not copied into ${namespace} (ferry.images.copyAuthSecret is off): the workloads need a pull secret of their own`,
    );
    return undefined;
  }
  await createIfAbsent(() =>
    kube.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'ferry' } },
        type: shared.type,
        data: shared.data,
      },
    }),
  );
  return name;
}

/**
 * Pushes the images with a datamover Job where the push credentials are (DESIGN §8): in the
 * target namespace, or in Ferry's namespace when the Secret is the platform's, so that its
 * credentials are never copied into an application's namespace for the push.
 */
async function push(options: {
  kube: KubeClients;
  namespace: string;
  restoreId: string;
  spec: RestoreSpec;
  sourceNamespace: string;
  secretHome: string | undefined;
  owner: OperationOwner;
  access: TargetAccess;
  config: FerryConfig;
  images: string[];
  keys?: TargetKeys;
}): Promise<Map<string, ImageRestoreJobResult['images'][number] & { error?: string }>> {
  const { spec } = options;
  const imageRestore = spec.imageRestore!;
  const jobNamespace = options.secretHome ?? options.namespace;
  const access =
    jobNamespace === options.namespace
      ? options.access
      : await prepareTargetAccess({
          kube: options.kube,
          namespace: jobNamespace,
          target: options.config.targets.find(t => t.name === spec.target)!,
          secretName: tempName({ operationId: options.restoreId, role: 'target', pvc: 'credentials' }),
          owner: options.owner,
          keys: options.keys,
        });
  const registry = await prepareRegistryAccess({
    kube: options.kube,
    namespace: jobNamespace,
    sources: imageRestore.authSecret && options.secretHome ? [{ namespace: options.secretHome, name: imageRestore.authSecret }] : [],
    secretName: tempName({ operationId: options.restoreId, role: 'registry', pvc: 'credentials' }),
    owner: options.owner,
    insecureRegistries: options.config.images.insecureRegistries,
  });
  const job = buildDatamoverJob({
    name: tempName({ operationId: options.restoreId, role: 'images', pvc: 'restore' }),
    namespace: jobNamespace,
    owner: options.owner,
    config: options.config.datamover,
    command: ['image', 'restore'],
    env: [
      { name: 'FERRY_APP', value: spec.appId },
      { name: 'FERRY_BACKUP_ID', value: spec.backupId },
      { name: 'FERRY_IMAGES', value: options.images.join(',') },
      { name: 'FERRY_REGISTRY', value: imageRestore.registry },
      { name: 'FERRY_REPOSITORY', value: imageRestore.repository ?? `ferry/${options.sourceNamespace}` },
      ...(imageRestore.overrideImageIfExist ? [{ name: 'FERRY_OVERRIDE_IF_EXIST', value: 'true' }] : []),
    ],
    target: combineAccess(access, registry),
  });
  const outcome = await runDatamoverJob({ kube: options.kube, job, timeoutMs: IMAGE_TIMEOUT_MS });
  if (!outcome.ok) {
    return new Map(options.images.map(image => [image, { original: image, tagChanged: false, error: outcome.reason }]));
  }
  const result = outcome.result as unknown as ImageRestoreJobResult;
  return new Map(result.images.map(item => [item.original, item]));
}
