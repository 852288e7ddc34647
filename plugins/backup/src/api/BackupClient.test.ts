/**
 * @jest-environment node
 */
import type { BackupDetail } from '@ferry/plugin-backup-common';
import { BackupClient } from './BackupClient';

const baseUrl = 'http://backstage.test/api/backup';
const shop = { kind: 'Component', namespace: 'default', name: 'shop' };

function client(respond: (url: string, init?: RequestInit) => Response | Promise<Response>) {
  const fetch = jest.fn(async (url: string, init?: RequestInit) => respond(url, init));
  const api = new BackupClient({
    discoveryApi: { getBaseUrl: async () => baseUrl },
    fetchApi: { fetch: fetch as any },
  });
  return { api, fetch };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

/** A streamed response whose body arrives in the given chunks. */
function eventStream(chunks: string[], { close = true } = {}) {
  const encoder = new TextEncoder();
  return new Response(
    new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        if (close) controller.close();
      },
    }),
    { headers: { 'Content-Type': 'text/event-stream' } },
  );
}

const progress = (bytesDone: number) =>
  `event: progress\ndata: ${JSON.stringify({ id: 'b1', phase: 'Running', volumes: [{ pvc: 'data', phase: 'Transferring', bytesDone, bytesTotal: 100 }] })}\n\n`;

describe('BackupClient', () => {
  it('posts a backup request as JSON to the entity route', async () => {
    const { api, fetch } = client(() => json({ id: 'b1' }, 201));
    await expect(api.createBackup(shop, { type: 'incremental' })).resolves.toEqual({ id: 'b1' });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe(`${baseUrl}/entities/component/default/shop/backups`);
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual({ type: 'incremental' });
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('sends a dry-run restore and returns its preview', async () => {
    const preview = { dryRun: true, backupId: 'b1', objects: [] };
    const { api, fetch } = client(() => json(preview));
    await expect(
      api.createRestore(shop, { backupId: 'b1', namespace: 'shop-2', dryRun: true }),
    ).resolves.toEqual(preview);
    expect(fetch.mock.calls[0][0]).toBe(`${baseUrl}/entities/component/default/shop/restores`);
    expect(JSON.parse(String(fetch.mock.calls[0][1]?.body))).toEqual({
      backupId: 'b1',
      namespace: 'shop-2',
      dryRun: true,
    });
  });

  it('deletes a backup (204) and encodes ids in paths', async () => {
    const { api, fetch } = client(() => new Response(null, { status: 204 }));
    await expect(api.deleteBackup(shop, 'b/1')).resolves.toBeUndefined();
    expect(fetch.mock.calls[0][0]).toBe(`${baseUrl}/entities/component/default/shop/backups/b%2F1`);
    expect(fetch.mock.calls[0][1]?.method).toBe('DELETE');
  });

  it('reads status, plan, restore details, the platform overview, the clusters and the restore options from their routes', async () => {
    const { api, fetch } = client(() => json({}));
    await api.getStatus(shop);
    await api.getPlan(shop);
    await api.getRestore(shop, 'r1');
    await api.getPlatformOverview();
    await api.listClusters();
    await api.getRestoreOptions({ kind: 'Component', namespace: 'Default', name: 'Shop' });
    expect(fetch.mock.calls.map(call => call[0])).toEqual([
      `${baseUrl}/entities/component/default/shop/status`,
      `${baseUrl}/entities/component/default/shop/plan`,
      `${baseUrl}/entities/component/default/shop/restores/r1`,
      `${baseUrl}/platform`,
      `${baseUrl}/clusters`,
      `${baseUrl}/entities/component/default/shop/restore-options`,
    ]);
  });

  it('throws the backend error (e.g. 409 with the reason a backup cannot be deleted)', async () => {
    const { api } = client(() =>
      json(
        {
          error: { name: 'ConflictError', message: 'backup b1 is the base of 3 kept incrementals' },
          request: { method: 'DELETE', url: '/x' },
          response: { statusCode: 409 },
        },
        409,
      ),
    );
    await expect(api.deleteBackup(shop, 'b1')).rejects.toMatchObject({
      name: 'ResponseError',
      cause: { message: 'backup b1 is the base of 3 kept incrementals' },
    });
  });

  it('streams progress events split across chunks and resolves at end', async () => {
    const body = `${progress(10)}${progress(60)}event: end\ndata: {}\n\n`;
    const { api, fetch } = client(() => eventStream([body.slice(0, 50), body.slice(50, 51), body.slice(51)]));
    const seen: BackupDetail[] = [];
    await api.streamBackup(shop, 'b1', { onProgress: d => seen.push(d) });
    expect(seen.map(d => d.volumes[0].bytesDone)).toEqual([10, 60]);
    expect(fetch.mock.calls[0][0]).toBe(`${baseUrl}/entities/component/default/shop/backups/b1/events`);
    expect((fetch.mock.calls[0][1]?.headers as Record<string, string>).Accept).toBe('text/event-stream');
  });

  it('rejects a stream that closes before its end event, so callers fall back to polling', async () => {
    const { api } = client(() => eventStream([progress(10)]));
    const seen: unknown[] = [];
    await expect(
      api.streamRestore(shop, 'r1', { onProgress: d => seen.push(d) }),
    ).rejects.toThrow('closed before its end event');
    expect(seen).toHaveLength(1);
  });

  it('resolves quietly when the caller aborts the stream', async () => {
    const { api } = client(() => eventStream([progress(10)], { close: false }));
    const controller = new AbortController();
    const done = api.streamBackup(shop, 'b1', {
      onProgress: () => controller.abort(),
      signal: controller.signal,
    });
    await expect(done).resolves.toBeUndefined();
  });
});
