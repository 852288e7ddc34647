import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess } from './managedProcess';
import { freeLoopbackPort, freePort } from './ports';
import { waitFor } from './waitFor';

export type StartRegistryOptions = {
  /** Storage root. Default: a new temporary folder, removed by stop(). */
  dataDir?: string;
  /** Default: a free loopback port. */
  port?: number;
  /** When set, the registry requires these credentials (htpasswd, bcrypt). */
  auth?: { username: string; password: string };
  /** Default: `docker-registry` on PATH (Debian's package). */
  binary?: string;
  pidDir?: string;
  /**
   * Local address to listen on, used in `host` and `url`. Default 127.0.0.1; a real node's bridge
   * address so that containerd and pods reach it too (docker-registry listens on one address).
   */
  address?: string;
};

export type Registry = {
  /** `127.0.0.1:<port>` (or `<address>:<port>`), the registry host as used in image references. */
  host: string;
  /** `http://<host>`. */
  url: string;
  auth?: { username: string; password: string };
  dataDir: string;
  stop(): Promise<void>;
};

/** Starts Debian's `docker-registry` (distribution 2.8) on loopback with its own config. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<Registry> {
  const temporary = options.dataDir === undefined;
  const base = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-registry-'));
  const storage = path.join(base, 'storage');
  fs.mkdirSync(storage, { recursive: true });
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? (address === '127.0.0.1' ? await freeLoopbackPort() : await freePort(address));
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storage)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${address}:${port}`,
    `  secret: ${crypto.randomBytes(16).toString('hex')}`,
  ];
  if (options.auth) {
    const htpasswdFile = path.join(base, 'htpasswd');
    const entry = execFileSync('htpasswd', ['-Bbn', options.auth.username, options.auth.password], {
      encoding: 'utf8',
    });
    fs.writeFileSync(htpasswdFile, entry);
    lines.push('auth:', '  htpasswd:', '    realm: ferry-sandbox', `    path: ${JSON.stringify(htpasswdFile)}`);
  }
  const configFile = path.join(base, 'config.yml');
  fs.writeFileSync(configFile, `${lines.join('\n')}\n`);
  let registry: ReturnType<typeof startProcess>;
  try {
    registry = startProcess({
      name: 'docker-registry',
      command: options.binary ?? 'docker-registry',
      args: ['serve', configFile],
      logFile: path.join(base, 'registry.log'),
      pidDir: options.pidDir,
    });
  } catch (error) {
    if (temporary) fs.rmSync(base, { recursive: true, force: true });
    throw error;
  }
  const url = `http://${address}:${port}`;
  try {
    await waitFor(
      async () => {
        if (registry.hasExited()) throw new Error(`docker-registry exited: ${registry.logTail()}`);
        const response = await fetch(`${url}/v2/`);
        return response.status === 200 || response.status === 401;
      },
      { description: `the OCI registry on ${url}`, timeoutMs: 20_000 },
    );
  } catch (error) {
    await registry.stop();
    if (temporary) fs.rmSync(base, { recursive: true, force: true });
    throw error;
  }
  return {
    host: `${address}:${port}`,
    url,
    auth: options.auth,
    dataDir: base,
    async stop() {
      await registry.stop();
      if (temporary) fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
