import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
// the module itself, not the package index: the rest of the sandbox is not needed here
import { startS3Server, type S3Server } from '@ferry/sandbox/src/s3Server';
import { FilesystemTarget } from '../target/FilesystemTarget';
import { S3Target } from '../target/S3Target';
import type { Target } from '../target/Target';

/**
 * Targets for tests: a temp folder, and a bucket on the sandbox's real S3 server
 * (versitygw on loopback). `make()` gives a fresh, empty target each call.
 */
export interface TestTargetKind {
  name: 'filesystem' | 's3';
  setup(): Promise<void>;
  make(options?: { partSize?: number }): Promise<Target>;
  teardown(): Promise<void>;
  /** Where the S3 server listens (s3 only). */
  server?: S3Server;
  /** A folder for scratch files (devices, restores). */
  scratch: string;
}

export function testTargetKinds(): TestTargetKind[] {
  const fsKind: TestTargetKind = {
    name: 'filesystem',
    scratch: '',
    async setup() {
      this.scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-fs-'));
    },
    async make() {
      return new FilesystemTarget(path.join(this.scratch, `repo-${randomBytes(4).toString('hex')}`));
    },
    async teardown() {
      await fs.rm(this.scratch, { recursive: true, force: true });
    },
  };
  const s3Kind: TestTargetKind = {
    name: 's3',
    scratch: '',
    async setup() {
      this.scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-s3t-'));
      this.server = await startS3Server();
    },
    async make(options) {
      const s = this.server!;
      const bucket = `ferry-${randomBytes(4).toString('hex')}`;
      const target = new S3Target({
        bucket,
        prefix: 'repo',
        endpoint: s.endpoint,
        region: s.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
        partSize: options?.partSize,
      });
      await target.client.send(new CreateBucketCommand({ Bucket: bucket }));
      return target;
    },
    async teardown() {
      await this.server?.stop();
      await fs.rm(this.scratch, { recursive: true, force: true });
    },
  };
  return [fsKind, s3Kind];
}
