import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binaryPath } from './binaries';
import { startProcess } from './managedProcess';
import { freeLoopbackPort } from './ports';
import { waitFor } from './waitFor';

export type StartS3ServerOptions = {
  /** Folder holding the buckets (one sub-folder each). Default: a new temporary folder, removed by stop(). */
  dataDir?: string;
  /** Default: a free loopback port. */
  port?: number;
  /** Default: a random key. */
  accessKeyId?: string;
  /** Default: a random secret. */
  secretAccessKey?: string;
  /** Default: us-east-1. */
  region?: string;
  /** Where the server's log goes. Default: `<dataDir>/../versitygw-<port>.log` or a temp file. */
  logFile?: string;
  /** Folder for the pid file (see killFromPidDir). */
  pidDir?: string;
  /**
   * A second local address to listen on (same port), used in `endpoint`: a real node's bridge
   * address, so pods reach the server too. Default: loopback only.
   */
  hostAddress?: string;
  /**
   * Keep object versions (versitygw's `--versioning-dir`, a folder beside `dataDir`), as AWS
   * does for buckets with Object Lock: a delete without a version id then lays a delete marker.
   * Default false (buckets created with Object Lock still refuse deletes of locked objects).
   */
  versioning?: boolean;
};

export type S3Server = {
  /** `http://127.0.0.1:<port>` (or the `hostAddress`); use path-style addressing (`forcePathStyle: true`). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
  stop(): Promise<void>;
};

/**
 * Starts a real S3 server (Versity S3 Gateway, posix backend) on loopback. Buckets are folders
 * in `dataDir`. Clients must use path-style requests.
 */
export async function startS3Server(options: StartS3ServerOptions = {}): Promise<S3Server> {
  const temporary = options.dataDir === undefined;
  const base = temporary ? fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-s3-')) : undefined;
  const dataDir = options.dataDir ?? path.join(base!, 'buckets');
  fs.mkdirSync(dataDir, { recursive: true });
  const port = options.port ?? (await freeLoopbackPort());
  const accessKeyId = options.accessKeyId ?? `ferry${crypto.randomBytes(6).toString('hex')}`;
  const secretAccessKey = options.secretAccessKey ?? crypto.randomBytes(20).toString('hex');
  const region = options.region ?? 'us-east-1';
  const logFile =
    options.logFile ?? path.join(base ?? path.dirname(dataDir), `versitygw-${port}.log`);
  const versionsDir = options.versioning ? `${dataDir.replace(/\/+$/, '')}-versions` : undefined;
  if (versionsDir) fs.mkdirSync(versionsDir, { recursive: true });
  let server: ReturnType<typeof startProcess>;
  try {
    server = startProcess({
      name: 'versitygw',
      command: binaryPath('versitygw'),
      args: [
        '--port',
        `127.0.0.1:${port}`,
        ...(options.hostAddress ? ['--port', `${options.hostAddress}:${port}`] : []),
        '--region', region, '--health', '/health', '--quiet', 'posix',
        ...(versionsDir ? ['--versioning-dir', versionsDir] : []),
        dataDir],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ROOT_ACCESS_KEY: accessKeyId,
        ROOT_SECRET_KEY: secretAccessKey,
      },
      logFile,
      pidDir: options.pidDir,
    });
  } catch (error) {
    if (base) fs.rmSync(base, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://${options.hostAddress ?? '127.0.0.1'}:${port}`;
  try {
    await waitFor(
      async () => {
        if (server.hasExited()) {
          throw new Error(`versitygw exited: ${server.logTail()}`);
        }
        const response = await fetch(`${endpoint}/health`);
        return response.ok;
      },
      { description: `the S3 server on ${endpoint}`, timeoutMs: 20_000 },
    );
  } catch (error) {
    await server.stop();
    if (base) fs.rmSync(base, { recursive: true, force: true });
    throw error;
  }
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region,
    dataDir,
    async stop() {
      await server.stop();
      if (base) fs.rmSync(base, { recursive: true, force: true });
      if (base && versionsDir) fs.rmSync(versionsDir, { recursive: true, force: true });
    },
  };
}
