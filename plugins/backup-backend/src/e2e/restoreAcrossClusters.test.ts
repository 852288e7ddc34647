import { CustomObjectsApi } from '@kubernetes/client-node';
import { binaryPath, installDemoApp, Sandbox, startSandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { sandboxCluster, startFerryBackend } from './__testUtils__/sandboxBackend';

const run = promisify(execFile);
jest.setTimeout(600_000);

const repoRoot = path.resolve(__dirname, '../../../..');
const entityPath = '/api/backup/entities/component/default/shop';
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const sandboxOptions = {
  ephemeral: true,
  crdDirs: [path.join(repoRoot, 'plugins/backup-backend/crds')],
  binDirs: [path.join(repoRoot, 'packages/datamover/bin')],
};

let source: Sandbox | undefined;
let recovery: Sandbox;
let repositoryDir: string;
let backend: Awaited<ReturnType<typeof startFerryBackend>>;
let claims: string[];

async function waitFor(kind: 'backups' | 'restores', id: string) {
  for (let i = 0; i < 600; i++) {
    const response = await request(backend.server).get(`${entityPath}/${kind}/${id}`);
    expect(response.status).toBe(200);
    if (['Completed', 'PartiallyFailed', 'Failed'].includes(response.body.phase)) return response.body;
    await sleep(500);
  }
  throw new Error(`${kind} ${id} did not finish`);
}

beforeAll(async () => {
  [source, recovery] = await Promise.all([startSandbox(sandboxOptions), startSandbox(sandboxOptions)]);
  const demo = await installDemoApp(source);
  claims = [...demo.written.keys()].sort();
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-clusters-'));
  backend = await startFerryBackend({
    sandbox: source,
    repositoryDir,
    extraClusters: [await sandboxCluster(recovery, 'recovery')],
  });
});

afterAll(async () => {
  await backend?.stop();
  await Promise.all([source?.stop(), recovery?.stop()]);
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('restore into another configured cluster', () => {
  it('restores a backup of cluster sandbox into cluster recovery after sandbox is gone', async () => {
    const states = new Map<string, Buffer>();
    for (const claim of claims) {
      states.set(claim, await fs.readFile(await source!.claimVolumePath({ namespace: 'demo', claim })));
    }
    const created = await request(backend.server).post(`${entityPath}/backups`).send({ type: 'full' });
    expect(created.status).toBe(201);
    const backup = await waitFor('backups', created.body.id);
    expect(backup.phase).toBe('Completed');

    // The cluster the backup was taken in is lost: only the target and the recovery cluster remain.
    await source!.stop();
    source = undefined;

    const dryRun = await request(backend.server)
      .post(`${entityPath}/restores`)
      .send({ backupId: backup.id, cluster: 'recovery', namespace: 'demo', dryRun: true });
    expect(dryRun.status).toBe(200);
    expect(dryRun.body).toEqual(expect.objectContaining({ cluster: 'recovery', namespace: 'demo' }));
    expect(dryRun.body.objects.every((o: { action: string }) => o.action === 'create')).toBe(true);

    const restored = await request(backend.server)
      .post(`${entityPath}/restores`)
      .send({ backupId: backup.id, cluster: 'recovery', namespace: 'demo', readyTimeoutSeconds: 60 });
    expect(restored.status).toBe(201);
    expect(restored.body).toEqual(expect.objectContaining({ cluster: 'recovery', namespace: 'demo' }));
    const restore = await waitFor('restores', restored.body.id);
    expect(restore.failures).toEqual([]);
    expect(restore.phase).toBe('Completed');

    for (const claim of claims) {
      const bytes = await fs.readFile(await recovery.claimVolumePath({ namespace: 'demo', claim }));
      expect(bytes.equals(states.get(claim)!)).toBe(true);
    }
    const helm = await run(binaryPath('helm'), ['--kubeconfig', recovery.kubeconfigPath, 'list', '-n', 'demo', '-o', 'json']);
    expect(JSON.parse(helm.stdout)).toEqual([
      expect.objectContaining({ name: 'demo', namespace: 'demo', status: 'deployed' }),
    ]);
    // The namespace did not exist in the recovery cluster: the Restore lives in Ferry's namespace.
    const custom = recovery.kubeConfig.makeApiClient(CustomObjectsApi);
    const restores = (await custom.listNamespacedCustomObject({
      group: 'ferry.io',
      version: 'v1alpha1',
      plural: 'restores',
      namespace: 'ferry-system',
    })) as { items: Array<{ spec: { backupId: string; namespace: string } }> };
    expect(restores.items.map(r => `${r.spec.backupId} → ${r.spec.namespace}`)).toEqual([`${backup.id} → demo`]);
  });
});
