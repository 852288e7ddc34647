import { ServiceUnavailableError } from '@backstage/errors';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Keyring } from '@ferry/repository';
import type { TargetConfig } from '../config/FerryConfig';
import { statusCodeOf } from '../pipeline/KubeClients';

export interface TargetKeysOptions {
  targets: TargetConfig[];
  /** Ferry's namespace: where key Secrets are when the config names no namespace. */
  ferryNamespace: string;
  clusters: { clusterNames(): string[]; getKubeConfig(name: string): Promise<KubeConfig> };
  /** How long a keyring read from its Secret is used before it is read again (rotation). */
  ttlMs?: number;
  /** Reads a Secret's data (base64 values); default: the Kubernetes API of that cluster. */
  readSecret?: (ref: { cluster: string; namespace: string; name: string }) => Promise<Record<string, string> | undefined>;
}

/** Where a target's key Secret is, in words and as parts (never the key). */
export interface KeySecretRef {
  cluster: string;
  namespace: string;
  name: string;
  /** The data key new backups are encrypted with. */
  key: string;
  /** `Secret <namespace>/<name> in cluster <cluster>`. */
  description: string;
}

/**
 * The repository keys of encrypted targets, read by the backend from the Kubernetes Secret each
 * target's config names (`ferry.targets[].encryption.secret`), in Ferry's namespace unless
 * another is named, and kept for `ttlMs` (30 s) so that a rotated Secret takes effect soon.
 * The key bytes stay in this process and in the temporary Secrets of datamover Jobs
 * (`keyAccess.ts`); they never go into a log, event, status or API answer.
 */
export class TargetKeys {
  private readonly cache = new Map<string, { at: number; keyring: Promise<Keyring> }>();

  constructor(private readonly options: TargetKeysOptions) {}

  private config(target: string): TargetConfig | undefined {
    return this.options.targets.find(t => t.name === target);
  }

  /** The key Secret of an encrypted target; undefined for a target in the clear. */
  secretOf(target: string): KeySecretRef | undefined {
    const secret = this.config(target)?.encryption?.secret;
    if (!secret) return undefined;
    const cluster = secret.cluster ?? this.options.clusters.clusterNames()[0] ?? '(no cluster)';
    const namespace = secret.namespace ?? this.options.ferryNamespace;
    return {
      cluster,
      namespace,
      name: secret.name,
      key: secret.key,
      description: `Secret ${namespace}/${secret.name} in cluster ${cluster}`,
    };
  }

  readUnencrypted(target: string): boolean {
    return this.config(target)?.encryption?.readUnencrypted ?? false;
  }

  /** The keyring of a target (undefined when it is not encrypted), read again after `ttlMs`. */
  async keyring(target: string): Promise<Keyring | undefined> {
    const ref = this.secretOf(target);
    if (!ref) return undefined;
    const cached = this.cache.get(target);
    if (cached && Date.now() - cached.at < (this.options.ttlMs ?? 30_000)) return cached.keyring;
    const keyring = this.read(target, ref);
    keyring.catch(() => this.cache.delete(target));
    this.cache.set(target, { at: Date.now(), keyring });
    return keyring;
  }

  /** Forgets cached keyrings (after the Secret was changed). */
  forget(): void {
    this.cache.clear();
  }

  private readonly readFromCluster = async (ref: { cluster: string; namespace: string; name: string }) => {
    const core = (await this.options.clusters.getKubeConfig(ref.cluster)).makeApiClient(CoreV1Api);
    return (await core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace })).data;
  };

  private async read(target: string, ref: KeySecretRef): Promise<Keyring> {
    const unreadable = (why: string) =>
      new ServiceUnavailableError(`the encryption key of target '${target}' cannot be read: ${ref.description} ${why}`);
    let data: Record<string, string> | undefined;
    try {
      data = await (this.options.readSecret ?? this.readFromCluster)(ref);
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 404) throw unreadable('does not exist');
      if (status === 403) throw unreadable("may not be read by Ferry's identity (get secrets)");
      throw unreadable(`could not be read (${(error as Error).message?.split('\n')[0]})`);
    }
    const bytes = Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    try {
      return Keyring.fromData({ data: bytes, current: ref.key, source: ref.description });
    } catch (error) {
      // the repository's message names the Secret and the data key, never a key's bytes
      throw new ServiceUnavailableError(`the encryption key of target '${target}' is unusable: ${(error as Error).message}`);
    }
  }
}
