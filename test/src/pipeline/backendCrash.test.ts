import { BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import {
  createServiceAccountToken,
  installDemoApp,
  Sandbox,
  startSandbox,
} from '@ferry/sandbox';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/repoRoot';
import { startBackend } from '../support/startBackend';

jest.setTimeout(600_000);

const ferry = { group: 'ferry.io', version: 'v1alpha1', plural: 'backups', namespace: 'demo' };
const logDir = path.join(repoRoot, 'test-results/backend-crash');

interface BackupStatus {
  phase?: string;
  message?: string;
  volumes?: Array<{ pvc: string; phase: string }>;
  timeline?: Array<{ step: string; message: string }>;
}

let sandbox: Sandbox;
let repositoryDir: string;
let config: Record<string, unknown>;

async function status(custom: CustomObjectsApi, name: string): Promise<BackupStatus> {
  const backup = (await custom.getNamespacedCustomObject({ ...ferry, name })) as { status?: BackupStatus };
  return backup.status ?? {};
}

beforeAll(async () => {
  sandbox = await startSandbox({
    ephemeral: true,
    crdDirs: [path.join(repoRoot, 'plugins/backup-backend/crds')],
    binDirs: [path.join(repoRoot, 'packages/datamover/bin')],
    // The demo app's images live here, so that backups copy them (no internet).
    registry: true,
  });
  await installDemoApp(sandbox);
  // A bigger volume, so that the datamover step lasts long enough to be interrupted.
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedPersistentVolumeClaim({
    namespace: 'demo',
    body: {
      metadata: { name: 'bulk' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'ferry-sandbox',
        resources: { requests: { storage: '2Gi' } },
      },
    },
  });
  for (let i = 0; i < 100 && (await core.readNamespacedPersistentVolumeClaim({ namespace: 'demo', name: 'bulk' })).status?.phase !== 'Bound'; i++) {
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  for (let offset = 0; offset < 1024 * 1024 * 1024; offset += 16 * 1024 * 1024) {
    await sandbox.writeVolume({ namespace: 'demo', claim: 'bulk', offset, data: randomBytes(8 * 1024 * 1024) });
  }
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-crash-repo-'));
  const { token } = await createServiceAccountToken(sandbox);
  const cluster = sandbox.kubeConfig.getCurrentCluster()!;
  config = {
    kubernetes: {
      serviceLocatorMethod: { type: 'multiTenant' },
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: [
            {
              name: 'sandbox',
              url: sandbox.apiServerUrl,
              authProvider: 'serviceAccount',
              authMetadata: { serviceAccountToken: token },
              caData: cluster.caData ?? readFileSync(cluster.caFile!).toString('base64'),
            },
          ],
        },
      ],
    },
    ferry: { targets: [{ name: 'local', type: 'filesystem', path: repositoryDir }] },
  };
});

afterAll(async () => {
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('a backend killed during the datamover step', () => {
  it('is resumed by the next backend: the backup completes and nothing is left behind', async () => {
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    const first = await startBackend({ name: 'backend-1', port: 7321, logDir, config });
    await custom.createNamespacedCustomObject({
      ...ferry,
      body: {
        apiVersion: 'ferry.io/v1alpha1',
        kind: 'Backup',
        metadata: { name: 'crash-me', namespace: 'demo' },
        spec: { application: { wholeNamespace: true }, target: 'local', type: 'Full' },
      },
    });
    // Kill -9 while the big volume is being moved.
    let seen: BackupStatus = {};
    for (let i = 0; i < 1200; i++) {
      seen = await status(custom, 'crash-me');
      if (seen.volumes?.some(v => v.pvc === 'bulk' && v.phase === 'Transferring')) break;
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    expect(seen.volumes?.find(v => v.pvc === 'bulk')?.phase).toBe('Transferring');
    await first.kill();

    const second = await startBackend({ name: 'backend-2', port: 7322, logDir, config });
    try {
      let final: BackupStatus = {};
      for (let i = 0; i < 300; i++) {
        final = await status(custom, 'crash-me');
        if (['Completed', 'PartiallyFailed', 'Failed'].includes(final.phase ?? '')) break;
        await new Promise(resolve => setTimeout(resolve, 1000));
      }
      expect({ phase: final.phase, message: final.message }).toEqual({ phase: 'Completed', message: undefined });
      // Started once; resumed after the kill (and after any further restart of the dev backend).
      const starts = final.timeline?.filter(t => t.step === 'Start').map(t => t.message) ?? [];
      expect(starts[0]).toMatch(/^Started on /);
      expect(starts.length).toBeGreaterThanOrEqual(2);
      for (const resumed of starts.slice(1)) {
        expect(resumed).toMatch(/^Resumed by .* after an interruption$/);
      }
      // A Backup without an entity is stored as application <cluster>.<namespace>.
      const committed = await fs.readdir(path.join(repositoryDir, 'apps', 'sandbox.demo', 'backups'));
      expect(committed).toHaveLength(1);
      const manifest = JSON.parse(
        await fs.readFile(path.join(repositoryDir, 'apps', 'sandbox.demo', 'backups', committed[0], 'manifest.json'), 'utf8'),
      );
      expect(manifest.volumes.map((v: { pvc: string }) => v.pvc)).toContain('bulk');
      const batch = sandbox.kubeConfig.makeApiClient(BatchV1Api);
      const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
      const selector = { namespace: 'demo', labelSelector: 'app.kubernetes.io/managed-by=ferry' };
      expect((await batch.listNamespacedJob(selector)).items).toEqual([]);
      expect((await core.listNamespacedPersistentVolumeClaim(selector)).items).toEqual([]);
      const snapshots = (await custom.listNamespacedCustomObject({
        group: 'snapshot.storage.k8s.io',
        version: 'v1',
        plural: 'volumesnapshots',
        namespace: 'demo',
      })) as { items: unknown[] };
      expect(snapshots.items).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});
