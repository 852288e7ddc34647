import {
  DeleteObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  ListObjectVersionsCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { InvalidInputError, ObjectNotFoundError } from '../errors';
import { mapS3Error, s3Status } from './s3Errors';
import type { ObjectLockMode, ObjectLockSettings, Retention } from './Target';

/**
 * S3 Object Lock for one bucket (used by S3Target): read and extend per-object retention,
 * check that the bucket has Object Lock enabled, and undo delete markers laid over locked
 * versions. Retention is set per object at commit (never as a bucket default: Ferry's own
 * lease object and unfinished backups must stay deletable).
 */
export class S3ObjectLock {
  constructor(
    private readonly o: {
      client: S3Client;
      bucket: string;
      where: string;
      settings: ObjectLockSettings;
      full: (key: string) => string;
      /** The target's key prefix in the bucket (`repo/` or ''). */
      root: string;
    },
  ) {}

  get settings(): ObjectLockSettings {
    return this.o.settings;
  }

  async check(): Promise<void> {
    let enabled: string | undefined;
    try {
      const out = await this.o.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.o.bucket }));
      enabled = out.ObjectLockConfiguration?.ObjectLockEnabled;
    } catch (e) {
      const name = (e as { name?: string }).name ?? '';
      if (!/ObjectLockConfigurationNotFound/.test(name) && s3Status(e) !== 404) throw mapS3Error(e, '/', this.o.where);
    }
    if (enabled !== 'Enabled') {
      throw new InvalidInputError(
        `bucket ${this.o.bucket} of S3 target ${this.o.where} does not have Object Lock enabled; create the bucket with Object Lock (x-amz-bucket-object-lock-enabled) or remove objectLock from the target`,
      );
    }
  }

  /** Current retention of `key` (its newest version, or `versionId`), undefined when none or expired. */
  async retention(key: string, versionId?: string): Promise<Retention | undefined> {
    try {
      const out = await this.o.client.send(
        new GetObjectRetentionCommand({ Bucket: this.o.bucket, Key: this.o.full(key), VersionId: versionId }),
      );
      const mode = out.Retention?.Mode as ObjectLockMode | undefined;
      const until = out.Retention?.RetainUntilDate;
      if (!mode || !until || until.getTime() <= Date.now()) return undefined;
      return { mode, until: new Date(until) };
    } catch (e) {
      const name = (e as { name?: string }).name ?? '';
      if (/NoSuchObjectLockConfiguration|ObjectLockConfigurationNotFound|InvalidRequest|MethodNotAllowed/.test(name)) return undefined;
      const mapped = mapS3Error(e, key, this.o.where);
      if (mapped instanceof ObjectNotFoundError) return undefined;
      throw mapped;
    }
  }

  /** Locks `key` until `until`, or extends its lock; a later retention is left as it is. */
  async retain(key: string, until: Date): Promise<void> {
    const current = await this.retention(key);
    if (current && current.until.getTime() >= until.getTime()) return;
    try {
      await this.o.client.send(
        new PutObjectRetentionCommand({
          Bucket: this.o.bucket,
          Key: this.o.full(key),
          // a compliance lock stays compliance; extending never needs a bypass
          Retention: { Mode: current?.mode ?? this.o.settings.mode, RetainUntilDate: until },
        }),
      );
    } catch (e) {
      throw mapS3Error(e, key, this.o.where);
    }
  }

  /**
   * Removes delete markers that hide a version still under retention (someone deleted a locked
   * object without naming its version, which versioned buckets allow: the bytes stayed). Ferry
   * itself never deletes a locked object, so such a marker is never Ferry's. Returns the keys
   * brought back.
   */
  async undelete(prefix: string): Promise<string[]> {
    const markers: Array<{ key: string; versionId: string }> = [];
    for await (const page of this.versionPages(prefix)) {
      for (const m of page.DeleteMarkers ?? []) {
        if (m.IsLatest && m.Key && m.VersionId) markers.push({ key: m.Key, versionId: m.VersionId });
      }
    }
    const base = this.o.root;
    const recovered: string[] = [];
    for (const marker of markers) {
      const key = marker.key.slice(base.length);
      let newest: { VersionId?: string; LastModified?: Date } | undefined;
      for await (const page of this.versionPages(key)) {
        for (const v of page.Versions ?? []) {
          if (v.Key !== marker.key || !v.VersionId) continue;
          if (!newest || (v.LastModified?.getTime() ?? 0) > (newest.LastModified?.getTime() ?? 0)) newest = v;
        }
      }
      if (!newest || !(await this.retention(key, newest.VersionId))) continue;
      try {
        await this.o.client.send(
          new DeleteObjectCommand({ Bucket: this.o.bucket, Key: marker.key, VersionId: marker.versionId }),
        );
      } catch (e) {
        throw mapS3Error(e, key, this.o.where);
      }
      recovered.push(key);
    }
    return recovered;
  }

  private async *versionPages(prefix: string) {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.o.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.o.bucket,
            Prefix: this.o.root + prefix,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
          }),
        );
      } catch (e) {
        throw mapS3Error(e, prefix || '/', this.o.where);
      }
      yield out;
      if (!out.IsTruncated) return;
      keyMarker = out.NextKeyMarker;
      versionMarker = out.NextVersionIdMarker;
    }
  }
}
