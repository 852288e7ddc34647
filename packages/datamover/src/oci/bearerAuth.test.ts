import { execFileSync } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AppLock, FilesystemTarget, Repository, newBackupId } from '@ferry/repository';
import { startProcess, type ManagedProcess } from '@ferry/sandbox/src/managedProcess';
import { freeLoopbackPort } from '@ferry/sandbox/src/ports';
import { startRegistry, type Registry } from '@ferry/sandbox/src/registry';
import { pushTestImage, type PushedImage } from '@ferry/sandbox/src/testImage';
import { waitFor } from '@ferry/sandbox/src/waitFor';
import { backupImages } from '../image/backupImages';
import { restoreImages } from '../image/restoreImages';
import { credentialsFromDockerConfig } from './dockerConfig';
import { RegistryClient } from './RegistryClient';

jest.setTimeout(120_000);

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * A real `docker-registry` with `auth: token` (the Bearer challenge of Docker Hub, GHCR,
 * Harbor …) and a token server issuing RS256 JWTs signed with a self-signed certificate the
 * registry trusts: `ferry`/`secret` get pull and push, anonymous callers pull only.
 */
async function startTokenRegistry(dir: string) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-subj', '/CN=ferry-token', '-days', '1'], { stdio: 'ignore' });
  const key = await fs.readFile(path.join(dir, 'key.pem'), 'utf8');
  const certDer = execFileSync('openssl', ['x509', '-in', path.join(dir, 'cert.pem'), '-outform', 'DER']);
  const issued: string[] = [];
  const tokens = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const basic = req.headers.authorization?.startsWith('Basic ')
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString()
      : undefined;
    if (basic !== undefined && basic !== 'ferry:secret') {
      res.writeHead(401).end();
      return;
    }
    const [, name, wanted] = /^repository:([^:]+):(.+)$/.exec(url.searchParams.get('scope') ?? '') ?? [];
    const actions = (wanted ?? '').split(',').filter(a => a === 'pull' || (a === 'push' && basic));
    issued.push(`${basic ? 'ferry' : 'anonymous'} ${name} ${actions.join(',')}`);
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = { iss: 'ferry-test-issuer', sub: basic ? 'ferry' : '', aud: 'ferry-registry', exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access: name ? [{ type: 'repository', name, actions }] : [] };
    const body = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(body).sign(key);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${body}.${b64url(signature)}` }));
  });
  await new Promise<void>(r => tokens.listen(0, '127.0.0.1', r));
  const tokenPort = (tokens.address() as AddressInfo).port;
  const port = await freeLoopbackPort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(path.join(dir, 'storage'))}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'auth:',
    '  token:',
    `    realm: http://127.0.0.1:${tokenPort}/token`,
    '    service: ferry-registry',
    '    issuer: ferry-test-issuer',
    `    rootcertbundle: ${JSON.stringify(path.join(dir, 'cert.pem'))}`,
  ].join('\n');
  await fs.writeFile(path.join(dir, 'config.yml'), `${config}\n`);
  const proc: ManagedProcess = startProcess({ name: 'docker-registry', command: 'docker-registry', args: ['serve', path.join(dir, 'config.yml')], logFile: path.join(dir, 'registry.log') });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.status === 401, { description: 'the token-auth registry', timeoutMs: 20_000 });
  return {
    host: `127.0.0.1:${port}`,
    issued,
    async stop() {
      await proc.stop();
      await new Promise(r => tokens.close(r));
    },
  };
}

describe('Bearer token auth against a real registry with a token server', () => {
  let dir: string;
  let source: Registry;
  let web: PushedImage;
  let tokenRegistry: Awaited<ReturnType<typeof startTokenRegistry>>;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bearer-'));
    source = await startRegistry();
    web = await pushTestImage(source, { repository: 'demo/web', tag: '1.0' });
    tokenRegistry = await startTokenRegistry(dir);
  }, 60_000);
  afterAll(async () => {
    await tokenRegistry?.stop();
    await source?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('pushes with credentials (pull,push token), pulls anonymously (pull token), refuses an anonymous push', async () => {
    const repo = await Repository.open(new FilesystemTarget(path.join(dir, 'repo')), { create: true });
    const anonymous = new RegistryClient();
    const backupId = newBackupId();
    const b = await backupImages({ repo, app: 'shop', backupId, images: [web.reference], client: anonymous });
    const lock = await AppLock.acquire({ target: repo.target, app: 'shop' });
    await repo.commitBackup({ app: 'shop', backupId, lock, images: b.index });
    await lock.release();

    const denied = await restoreImages({ repo, app: 'shop', backupId, client: anonymous, registry: tokenRegistry.host, repository: 'anon' }).catch(e => e.result);
    expect(denied.images[0].code).toMatch(/^REGISTRY_(UNAUTHORIZED|DENIED)$/);

    const withCredentials = new RegistryClient({
      credentials: credentialsFromDockerConfig({ auths: { [`http://${tokenRegistry.host}/v2/`]: { auth: Buffer.from('ferry:secret').toString('base64') } } }),
    });
    const r = await restoreImages({ repo, app: 'shop', backupId, client: withCredentials, registry: tokenRegistry.host, repository: 'team' });
    expect(r.images[0]).toMatchObject({ restored: `${tokenRegistry.host}/team/web:1.0`, digest: web.digest, pushedBlobs: 2 });
    expect(tokenRegistry.issued).toContain('ferry team/web pull,push');

    expect(await anonymous.reachable(`${tokenRegistry.host}/team/web:1.0`)).toEqual({ reachable: true, digest: web.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(tokenRegistry.issued).toContain('anonymous team/web pull');
    const wrong = new RegistryClient({ credentials: () => ({ username: 'ferry', password: 'wrong' }) });
    expect(await wrong.reachable(`${tokenRegistry.host}/team/web:1.0`)).toMatchObject({ reachable: false, code: 'UNAUTHORIZED' });
  });
});
