import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPortOpen } from './ports';
import { startRegistry } from './registry';
import { pushTestImage } from './testImage';

describe('startRegistry', () => {
  it('serves the OCI distribution API and accepts a blob upload', async () => {
    const registry = await startRegistry();
    try {
      const ping = await fetch(`${registry.url}/v2/`);
      expect(ping.status).toBe(200);
      const start = await fetch(`${registry.url}/v2/ferry/test/blobs/uploads/`, { method: 'POST' });
      expect(start.status).toBe(202);
      const data = Buffer.from('layer bytes');
      const digest = `sha256:${require('node:crypto').createHash('sha256').update(data).digest('hex')}`;
      const location = new URL(start.headers.get('location')!, registry.url);
      location.searchParams.set('digest', digest);
      const put = await fetch(location, { method: 'PUT', body: data });
      expect(put.status).toBe(201);
      const got = await fetch(`${registry.url}/v2/ferry/test/blobs/${digest}`);
      expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
    } finally {
      await registry.stop();
    }
    expect(await isPortOpen(Number(registry.host.split(':')[1]))).toBe(false);
  }, 30_000);

  it('requires the configured credentials when auth is set', async () => {
    const registry = await startRegistry({ auth: { username: 'ferry', password: 's3cret-pw' } });
    try {
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(401);
      const basic = Buffer.from('ferry:s3cret-pw').toString('base64');
      const ok = await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${basic}` } });
      expect(ok.status).toBe(200);
      const wrong = Buffer.from('ferry:nope').toString('base64');
      const denied = await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${wrong}` } });
      expect(denied.status).toBe(401);
    } finally {
      await registry.stop();
    }
  }, 30_000);

  it('holds a test image pushed with pushTestImage, behind auth', async () => {
    const registry = await startRegistry({ auth: { username: 'ferry', password: 's3cret-pw' } });
    try {
      const image = await pushTestImage(registry, { repository: 'demo/web', tag: '1.0' });
      expect(image.reference).toBe(`${registry.host}/demo/web:1.0`);
      const basic = Buffer.from('ferry:s3cret-pw').toString('base64');
      const response = await fetch(`${registry.url}/v2/demo/web/manifests/1.0`, {
        headers: { authorization: `Basic ${basic}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('docker-content-digest')).toBe(image.digest);
      const manifest = (await response.json()) as { layers: Array<{ digest: string }> };
      expect(manifest.layers[0].digest).toBe(image.blobs[1]);
      // Pushing the same content again gives the same digest (deterministic layer).
      expect((await pushTestImage(registry, { repository: 'demo/web', tag: '1.0' })).digest).toBe(image.digest);
    } finally {
      await registry.stop();
    }
  }, 30_000);

  it('says which binary could not be started, and leaves no temporary folder', async () => {
    // A private TMPDIR: other people's registries may come and go in the shared one.
    const privateTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-registry-test-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    try {
      await expect(startRegistry({ binary: '/nonexistent/docker-registry' })).rejects.toThrow(
        'could not start docker-registry: /nonexistent/docker-registry is not an executable file',
      );
      expect(fs.readdirSync(privateTmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      fs.rmSync(privateTmp, { recursive: true, force: true });
    }
  }, 30_000);
});
