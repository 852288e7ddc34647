import { resolve } from 'node:path';
import { NotFoundError } from '@backstage/errors';
import { createTarget, Repository, Target } from '@ferry/repository';
import type { TargetConfig } from '../config/FerryConfig';
import type { TargetKeys } from '../protection/TargetKeys';

/**
 * The configured targets, opened on first use. Relative filesystem paths are resolved against
 * the backend's working directory once, so datamover pods get the same absolute path.
 */
export class TargetRegistry {
  private readonly repositories = new Map<string, Promise<Repository>>();
  private readonly configs: Map<string, TargetConfig>;

  constructor(
    targets: TargetConfig[],
    private readonly defaultTarget?: string,
    /** Keys of encrypted targets (`ferry.targets[].encryption`); none: every target in the clear. */
    readonly keys?: TargetKeys,
  ) {
    this.configs = new Map(
      targets.map(t => [t.name, t.type === 'filesystem' ? { ...t, path: resolve(t.path) } : t]),
    );
  }

  names(): string[] {
    return [...this.configs.keys()];
  }

  /** The target used when neither the request nor the policy names one. */
  defaultName(): string | undefined {
    return this.defaultTarget ?? this.names()[0];
  }

  config(name: string): TargetConfig {
    const config = this.configs.get(name);
    if (!config) {
      throw new NotFoundError(
        `no target named '${name}'; configured targets: ${this.names().join(', ') || 'none'}`,
      );
    }
    return config;
  }

  /**
   * The repository on a target, created (ferry.json) on first use; on an encrypted target with
   * its keyring (read from the key Secret, again after a short while: rotation takes effect).
   */
  async repository(name: string): Promise<Repository> {
    let repository = this.repositories.get(name);
    if (!repository) {
      repository = Repository.open(this.openTarget(name), { create: true });
      repository.catch(() => this.repositories.delete(name));
      this.repositories.set(name, repository);
    }
    const keys = await this.keys?.keyring(name);
    return keys ? (await repository).withKeys(keys, this.keys!.readUnencrypted(name)) : repository;
  }

  openTarget(name: string): Target {
    const config = this.config(name);
    if (config.type === 'filesystem') {
      return createTarget({ type: 'filesystem', path: config.path });
    }
    return createTarget({
      type: 's3',
      bucket: config.bucket,
      prefix: config.prefix,
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      accessKeyId: config.credentials?.accessKeyId,
      secretAccessKey: config.credentials?.secretAccessKey,
      objectLock: config.objectLock,
    });
  }
}
