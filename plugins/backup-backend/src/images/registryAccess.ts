import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { dockerConfigSchema, type DockerConfig } from '@ferry/datamover';
import { podSpecOf } from '../mapping/podImages';
import { isNotFound, KubeClients } from '../pipeline/KubeClients';
import type { OperationOwner } from '../pipeline/OwnerRef';
import { createTemporarySecret } from '../pipeline/temporarySecret';
import type { TargetAccess } from '../pipeline/datamoverJob';

const AUTH_DIR = '/run/secrets/ferry-registry';
const DOCKER_CONFIG_KEY = '.dockerconfigjson';
const LEGACY_DOCKER_CONFIG_KEY = '.dockercfg';

/** A Secret with registry credentials, where it is. */
export interface SecretLocation {
  namespace: string;
  name: string;
}

/**
 * Names of the pull secrets an application's pods use: `imagePullSecrets` of every pod template
 * and of every ServiceAccount among the objects (de-duplicated, in order of appearance).
 */
export function pullSecretNames(objects: readonly KubernetesObject[]): string[] {
  const names = new Set<string>();
  for (const object of objects) {
    const secrets =
      object.kind === 'ServiceAccount'
        ? (object as { imagePullSecrets?: Array<{ name?: string }> }).imagePullSecrets
        : podSpecOf(object)?.imagePullSecrets;
    for (const { name } of secrets ?? []) if (name) names.add(name);
  }
  return [...names];
}

/**
 * Registry credentials of a Secret of type `kubernetes.io/dockerconfigjson` (or the legacy
 * `dockercfg`), as a docker config; undefined for any other Secret.
 */
export function dockerConfigOf(secret: Pick<V1Secret, 'data' | 'type'>): DockerConfig | undefined {
  const encoded = secret.data?.[DOCKER_CONFIG_KEY] ?? secret.data?.[LEGACY_DOCKER_CONFIG_KEY];
  if (!encoded) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  // `.dockercfg` is the bare `auths` map.
  const config = secret.data?.[DOCKER_CONFIG_KEY] ? json : { auths: json };
  const parsed = dockerConfigSchema.safeParse(config);
  return parsed.success ? parsed.data : undefined;
}

/** Merges docker configs; the first one naming a registry wins (like the kubelet's order). */
export function mergeDockerConfigs(configs: readonly DockerConfig[]): DockerConfig {
  const auths: NonNullable<DockerConfig['auths']> = {};
  for (const config of configs) {
    for (const [host, entry] of Object.entries(config.auths ?? {})) {
      if (!(host in auths)) auths[host] = entry;
    }
  }
  return { auths };
}

/**
 * What a datamover pod needs to reach the registries of an image command: the credentials of the
 * given Secrets merged into one temporary Secret in the Job's namespace (pods mount Secrets of their
 * own namespace only), mounted read-only and named by `FERRY_REGISTRY_AUTH_FILE`, plus the hosts
 * reached over plain http. Secrets that are missing or hold no registry credentials are skipped:
 * anonymous pulls still work.
 */
export async function prepareRegistryAccess(options: {
  kube: KubeClients;
  namespace: string;
  sources: readonly SecretLocation[];
  secretName: string;
  owner: OperationOwner;
  insecureRegistries: readonly string[];
}): Promise<TargetAccess> {
  const env = options.insecureRegistries.length
    ? [{ name: 'FERRY_INSECURE_REGISTRIES', value: options.insecureRegistries.join(',') }]
    : [];
  const configs: DockerConfig[] = [];
  for (const source of options.sources) {
    const secret = await options.kube.core
      .readNamespacedSecret(source)
      .catch(error => (isNotFound(error) ? undefined : Promise.reject(error)));
    const config = secret && dockerConfigOf(secret);
    if (config) configs.push(config);
  }
  if (configs.length === 0) return { env, volumes: [], mounts: [] };
  await createTemporarySecret({
    kube: options.kube,
    namespace: options.namespace,
    name: options.secretName,
    owner: options.owner,
    type: 'kubernetes.io/dockerconfigjson',
    stringData: { [DOCKER_CONFIG_KEY]: JSON.stringify(mergeDockerConfigs(configs)) },
  });
  return {
    env: [...env, { name: 'FERRY_REGISTRY_AUTH_FILE', value: `${AUTH_DIR}/${DOCKER_CONFIG_KEY}` }],
    volumes: [{ name: 'registry-auth', secret: { secretName: options.secretName } }],
    mounts: [{ name: 'registry-auth', mountPath: AUTH_DIR, readOnly: true }],
  };
}

/** Both accesses in one pod. */
export function combineAccess(a: TargetAccess, b: TargetAccess): TargetAccess {
  return { env: [...a.env, ...b.env], volumes: [...a.volumes, ...b.volumes], mounts: [...a.mounts, ...b.mounts] };
}
