import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Managed, startManaged, waitForHttp } from '../support/processes';
import type { Env } from './shellBlocks';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `app-config.local.yaml` of the adopter app (the file `yarn start` and `yarn workspace backend
 * start` read after app-config.yaml, git-ignored by create-app): what belongs to this machine and
 * not to the README's instructions —
 * - the backend's port (a free one, not 7007) and PostgreSQL as production Backstage runs;
 * - the guest user as create-app's example user `user:default/guest` (member of `guests`, which
 *   owns the demo component), so the README's policy treats the test's user as an owner;
 * - the sandbox registry, which serves the datamover image over plain HTTP on the node bridge's
 *   address: Ferry must be told it is insecure (a real registry with TLS needs nothing).
 */
export async function writeLocalConfig(options: {
  appDir: string;
  port: number;
  databaseUrl: string;
  insecureRegistry: string;
}): Promise<string> {
  const file = join(options.appDir, 'app-config.local.yaml');
  const baseUrl = `http://localhost:${options.port}`;
  await writeFile(
    file,
    stringify({
      backend: { baseUrl, listen: { port: options.port }, database: { client: 'pg', connection: options.databaseUrl } },
      auth: { providers: { guest: { userEntityRef: 'user:default/guest' } } },
      ferry: { images: { insecureRegistries: [options.insecureRegistry] } },
    }),
  );
  return file;
}

/** `yarn workspace backend start` in the app (as the README says), until Ferry's health answers. */
export async function startAdopterBackend(options: { appDir: string; env: Env; port: number; logDir: string }): Promise<Managed & { url: string }> {
  const backend = await startManaged({
    name: 'adopter-backend',
    command: 'yarn',
    args: ['workspace', 'backend', 'start'],
    cwd: options.appDir,
    env: { ...options.env, NODE_ENV: 'development' },
    logDir: options.logDir,
  });
  const url = `http://localhost:${options.port}`;
  try {
    await waitForHttp(`${url}/api/backup/health`, 240_000, backend);
  } catch (error) {
    await backend.stop();
    throw new Error(`${(error as Error).message} (log: ${join(options.logDir, 'adopter-backend.log')})`);
  }
  return { ...backend, url };
}

export type Identity = { token: string; userEntityRef: string; ownershipEntityRefs: string[] };

/** Signs in with create-app's guest provider, as the README's check does with curl. */
export async function guestSignIn(url: string): Promise<Identity> {
  const response = await fetch(`${url}/api/auth/guest/refresh`, { method: 'POST' });
  const body = (await response.json()) as { backstageIdentity?: { token: string; identity: { userEntityRef: string; ownershipEntityRefs: string[] } } };
  if (!response.ok || !body.backstageIdentity) throw new Error(`guest sign-in answered ${response.status}: ${JSON.stringify(body)}`);
  return { token: body.backstageIdentity.token, ...body.backstageIdentity.identity };
}

/** A JSON call to the backend as a signed-in user. */
export async function api(url: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** Polls a backup or restore until it is Completed, PartiallyFailed or Failed; returns its detail. */
export async function waitForOperation(options: { url: string; token: string; path: string; timeoutMs: number }): Promise<any> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const { status, body } = await api(options.url, options.token, 'GET', options.path);
    if (status !== 200) throw new Error(`GET ${options.path} answered ${status}: ${JSON.stringify(body)}`);
    if (['Completed', 'PartiallyFailed', 'Failed'].includes(body.phase)) return body;
    if (Date.now() > deadline) throw new Error(`${options.path} still ${body.phase} after ${options.timeoutMs} ms`);
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}
