import { BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { binaryPath, installDemoApp, Sandbox, startSandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { backupImage, committedBackups, compareChainWithVolume } from '../support/backupChain';
import { repoRoot } from '../support/repoRoot';
import { sandboxBackstageConfig } from '../support/sandboxConfig';
import type { Managed } from '../support/processes';
import { startBackend } from '../support/startBackend';

/*
 * A real Backstage backend process killed with SIGKILL while a datamover Job (a real container on
 * the sandbox's real node) moves a volume; the next backend resumes the backup. The volume is a
 * Block claim that nothing else writes: the committed chain must hold its bytes exactly.
 */

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
/** Every backend started, stopped in afterAll whatever the test did. */
const backends: Managed[] = [];

async function status(custom: CustomObjectsApi, name: string): Promise<BackupStatus> {
  const backup = (await custom.getNamespacedCustomObject({ ...ferry, name })) as { status?: BackupStatus };
  return backup.status ?? {};
}

/** Pods whose datamover container crictl lists running on the node. */
async function runningDatamovers(): Promise<string[]> {
  const { stdout } = await promisify(execFile)(binaryPath('crictl'), ['--runtime-endpoint', sandbox.criEndpoint!, 'ps', '-o', 'json']);
  const containers = (JSON.parse(stdout) as {
    containers: Array<{ metadata: { name: string }; state: string; labels: Record<string, string> }>;
  }).containers;
  return containers
    .filter(c => c.metadata.name === 'datamover' && c.state === 'CONTAINER_RUNNING')
    .map(c => c.labels['io.kubernetes.pod.name']);
}

beforeAll(async () => {
  sandbox = await startSandbox({
    ephemeral: true,
    crdDirs: [path.join(repoRoot, 'plugins/backup-backend/crds')],
  });
  await installDemoApp(sandbox);
  // A bigger volume, so that the datamover step lasts long enough to be interrupted: a Block
  // claim that no container uses, so its bytes stay what this test wrote.
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedPersistentVolumeClaim({
    namespace: 'demo',
    body: {
      metadata: { name: 'bulk' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'ferry-sandbox',
        volumeMode: 'Block',
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
  config = await sandboxBackstageConfig(sandbox, repositoryDir);
}, 300_000);

afterAll(async () => {
  for (const backend of backends) await backend.stop();
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('a backend killed during the datamover step', () => {
  it('is resumed by the next backend: the backup completes and nothing is left behind', async () => {
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    const first = await startBackend({ name: 'backend-1', port: 7321, logDir, config });
    backends.push(first);
    await custom.createNamespacedCustomObject({
      ...ferry,
      body: {
        apiVersion: 'ferry.io/v1alpha1',
        kind: 'Backup',
        metadata: { name: 'crash-me', namespace: 'demo' },
        spec: { application: { wholeNamespace: true }, target: 'local', type: 'Full' },
      },
    });
    // Kill -9 while the big volume is being moved, in a real container of the datamover image.
    let seen: BackupStatus = {};
    let movers: string[] = [];
    for (let i = 0; i < 1200; i++) {
      seen = await status(custom, 'crash-me');
      if (seen.volumes?.some(v => v.pvc === 'bulk' && v.phase === 'Transferring')) {
        movers = await runningDatamovers();
        if (movers.some(pod => pod.includes('-backup-bulk-'))) break;
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    expect(seen.volumes?.find(v => v.pvc === 'bulk')?.phase).toBe('Transferring');
    expect(movers).toContainEqual(expect.stringMatching(/-backup-bulk-/));
    await first.kill();

    const second = await startBackend({ name: 'backend-2', port: 7322, logDir, config });
    backends.push(second);
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
      const committed = await committedBackups(repositoryDir, 'sandbox.demo');
      expect(committed).toHaveLength(1);
      const manifest = JSON.parse(
        await fs.readFile(path.join(repositoryDir, 'apps', 'sandbox.demo', 'backups', committed[0], 'manifest.json'), 'utf8'),
      );
      expect(manifest.volumes.map((v: { pvc: string }) => v.pvc)).toContain('bulk');
      // The interrupted volume's image holds the volume's bytes exactly (qemu-img is the judge).
      const image = backupImage({ repositoryDir, app: 'sandbox.demo', pvc: 'bulk', backupId: committed[0] });
      const volume = await sandbox.claimVolumePath({ namespace: 'demo', claim: 'bulk' });
      expect(await compareChainWithVolume(image, volume)).toEqual({ identical: true, output: 'Images are identical.' });
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
