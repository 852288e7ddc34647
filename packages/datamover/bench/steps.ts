/**
 * The benchmark's steps: the datamover CLI as a Job runs it (its bundle, its environment, its
 * default I/O mode) and the reference tools, each as its own measured process.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { datamoverNodeOptions } from '@ferry/sandbox/src/images/datamoverImage';
import { measure, run, type Measurement } from './measure';

export const CLI = process.env.BENCH_CLI!;
export const PLAIN = process.env.BENCH_PLAIN_S3!;
const node = process.execPath;
/** The CLI as the Job's launcher starts it (/usr/local/bin/ferry-datamover): the same node options. */
const cli = [...datamoverNodeOptions, CLI];

/** A target as the backend hands it to a Job (FERRY_* environment). */
export type TargetEnv = NodeJS.ProcessEnv;

export function folderTarget(dir: string): TargetEnv {
  return { FERRY_TARGET_TYPE: 'filesystem', FERRY_TARGET_PATH: dir };
}

export interface S3Access {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  credentialsDir: string;
  /** The server's folder of buckets (objects are files there). */
  dataDir: string;
}

export function s3Target(s3: S3Access, prefix: string): TargetEnv {
  return {
    FERRY_TARGET_TYPE: 's3',
    FERRY_S3_BUCKET: s3.bucket,
    FERRY_S3_PREFIX: prefix,
    FERRY_S3_ENDPOINT: s3.endpoint,
    FERRY_S3_REGION: s3.region,
    FERRY_S3_FORCE_PATH_STYLE: 'true',
    FERRY_S3_CREDENTIALS_DIR: s3.credentialsDir,
  };
}

/** A backup id in the repository's format (time-sortable). */
export function newId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

export interface BackupStep {
  m: Measurement;
  result: {
    backupId: string;
    image: { key: string; size: number };
    stats: { bytesRead: number; changedClusters: number };
    timings: { durationMs: number; firstReadMs?: number };
  };
}

const lastLine = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

/** `ferry-datamover volume backup` as the backup Job runs it (no --commit: the backend commits). */
export async function ferryBackup(o: { target: TargetEnv; app: string; device: string; parent?: string; server?: boolean }): Promise<BackupStep> {
  const id = newId();
  const env: NodeJS.ProcessEnv = {
    ...o.target,
    FERRY_APP: o.app,
    FERRY_PVC: 'vol',
    FERRY_BACKUP_ID: id,
    FERRY_DEVICE: o.device,
  };
  if (o.parent) env.FERRY_PARENT = o.parent;
  const m = await measure({ command: node, args: [...cli, 'volume', 'backup'], env, server: o.server });
  const result = lastLine(m.stdout);
  if (result.type !== 'result') throw new Error(`backup failed: ${m.stdout.slice(-2000)}`);
  return { m, result };
}

/** Commits a backup (the backend's step; not timed). */
export async function commit(o: { target: TargetEnv; app: string; id: string }): Promise<void> {
  await run(node, [...cli, 'backup', 'commit', '--app', o.app, '--backup-id', o.id], o.target);
}

/** `ferry-datamover volume restore` as the restore Job runs it (into a fresh claim: assume zeroed). */
export async function ferryRestore(o: { target: TargetEnv; app: string; id: string; device: string; server?: boolean }): Promise<Measurement> {
  return measure({
    command: node,
    args: [...cli, 'volume', 'restore'],
    env: {
      ...o.target,
      FERRY_APP: o.app,
      FERRY_PVC: 'vol',
      FERRY_BACKUP_ID: o.id,
      FERRY_DEVICE: o.device,
      FERRY_ASSUME_ZEROED: 'true',
    },
    server: o.server,
  });
}

export const qemu = (args: string[]) => measure({ command: 'qemu-img', args });

/** plainS3.js: lib-storage Upload of a file, or GetObject into a file or device. */
export async function plainS3(o: { s3: S3Access; op: 'upload' | 'download'; file: string; key: string }): Promise<Measurement> {
  return measure({
    command: node,
    args: [PLAIN, o.op, o.file, o.key],
    env: {
      BENCH_ENDPOINT: o.s3.endpoint,
      BENCH_REGION: o.s3.region,
      BENCH_BUCKET: o.s3.bucket,
      BENCH_ACCESS_KEY_ID: o.s3.accessKeyId,
      BENCH_SECRET_ACCESS_KEY: o.s3.secretAccessKey,
    },
    server: true,
  });
}

/** Files of a folder (recursively), for warming. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
