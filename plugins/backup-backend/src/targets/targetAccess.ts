import type { V1EnvVar } from '@kubernetes/client-node';
import type { TargetConfig } from '../config/FerryConfig';
import { deleteIfPresent, KubeClients } from '../pipeline/KubeClients';
import type { TargetAccess } from '../pipeline/datamoverJob';
import type { OperationOwner } from '../pipeline/OwnerRef';
import { createTemporarySecret } from '../pipeline/temporarySecret';
import type { TargetKeys } from '../protection/TargetKeys';
import { withKeyAccess } from '../protection/keyAccess';

const CREDENTIALS_DIR = '/run/secrets/ferry-s3';

/**
 * Gives datamover pods access to a target. Credentials never go into the pod spec: for S3 a
 * Secret owned by the operation holds them, mounted as files (the datamover reads secrets from
 * files only). A filesystem target is mounted into the pod at its own path: the node's folder
 * (an NFS export mounted on every node, or local on a one-node cluster), or an NFS volume
 * (`volume.nfs`), so the datamover sees what the backend sees.
 */
export async function prepareTargetAccess(options: {
  kube: KubeClients;
  namespace: string;
  target: TargetConfig;
  secretName: string;
  owner: OperationOwner;
  /** An encrypted target's keys go to the pods as a temporary Secret too (protection/keyAccess.ts). */
  keys?: TargetKeys;
}): Promise<TargetAccess> {
  return withKeyAccess({
    access: await prepareStorageAccess(options),
    kube: options.kube,
    namespace: options.namespace,
    keys: options.keys,
    target: options.target.name,
    secretName: `${options.secretName}-key`,
    owner: options.owner,
  });
}

async function prepareStorageAccess(options: {
  kube: KubeClients;
  namespace: string;
  target: TargetConfig;
  secretName: string;
  owner: OperationOwner;
}): Promise<TargetAccess> {
  const { target } = options;
  if (target.type === 'filesystem') {
    // The pod sees the target where the backend does: the node's folder, or the NFS export.
    const source = target.volume?.nfs
      ? { nfs: { server: target.volume.nfs.server, path: target.volume.nfs.path } }
      : { hostPath: { path: target.path, type: 'DirectoryOrCreate' } };
    return {
      env: [env('FERRY_TARGET_TYPE', 'filesystem'), env('FERRY_TARGET_PATH', target.path)],
      volumes: [{ name: 'target', ...source }],
      mounts: [{ name: 'target', mountPath: target.path }],
    };
  }
  const variables = [
    env('FERRY_TARGET_TYPE', 's3'),
    env('FERRY_S3_BUCKET', target.bucket),
    env('FERRY_S3_REGION', target.region),
    env('FERRY_S3_FORCE_PATH_STYLE', String(target.forcePathStyle)),
  ];
  if (target.prefix) variables.push(env('FERRY_S3_PREFIX', target.prefix));
  if (target.endpoint) variables.push(env('FERRY_S3_ENDPOINT', target.endpoint));
  const credentials = target.credentials;
  if (!credentials) {
    // The pods use the SDK's default chain (e.g. IRSA on the datamover's service account).
    return { env: variables, volumes: [], mounts: [] };
  }
  await createTemporarySecret({
    kube: options.kube,
    namespace: options.namespace,
    name: options.secretName,
    owner: options.owner,
    type: 'Opaque',
    stringData: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
    },
  });
  return {
    env: [...variables, env('FERRY_S3_CREDENTIALS_DIR', CREDENTIALS_DIR)],
    volumes: [{ name: 's3-credentials', secret: { secretName: options.secretName } }],
    mounts: [{ name: 's3-credentials', mountPath: CREDENTIALS_DIR, readOnly: true }],
  };
}

export async function removeTargetAccess(kube: KubeClients, namespace: string, secretName: string) {
  await deleteIfPresent(() => kube.core.deleteNamespacedSecret({ namespace, name: secretName }));
  await deleteIfPresent(() => kube.core.deleteNamespacedSecret({ namespace, name: `${secretName}-key` }));
}

function env(name: string, value: string): V1EnvVar {
  return { name, value };
}
