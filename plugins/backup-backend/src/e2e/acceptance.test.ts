import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { HookResult } from '@ferry/plugin-backup-common';
import { binaryPath, DemoApp, DemoTableState, installDemoApp, Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { startE2eSandbox, startFerryBackend } from './__testUtils__/sandboxBackend';
import { shopPath, waitForOperation } from './__testUtils__/waitForOperation';

/*
 * Issue 19's acceptance test, on a real node (upstream kubelet, containerd, runc, the CSI driver
 * on loop devices with ext4, upstream provisioner and snapshotter): the demo app runs PostgreSQL
 * 15 in real containers; Ferry backs it up through its API (full, then incremental after more rows,
 * the chart's Velero hooks running CHECKPOINT in the container), the namespace is deleted, the
 * incremental backup is restored and PostgreSQL starts from the restored volume with exactly the
 * rows that backup holds (count and checksum per replica); a second restore into another
 * namespace, while the first runs, gives the same rows. Needs root (as CI runs).
 */

jest.setTimeout(900_000);

const run = promisify(execFile);
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

let sandbox: Sandbox;
let demo: DemoApp;
let core: CoreV1Api;
let repositoryDir: string;
let server: Awaited<ReturnType<typeof startFerryBackend>>['server'];
let stopBackend: (() => Promise<void>) | undefined;
const timings: string[] = [];

/** Rows per db pod as the incremental backup holds them. */
const backedUp = new Map<string, DemoTableState>();
let fullState: Map<string, DemoTableState>;
let incrementalId: string;

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Each timeline entry (mostly written when its step ended) in seconds after the first one. */
const timelineOffsets = (timeline: Array<{ time: string; step: string }>) =>
  timeline.map(e => `${e.step} +${((Date.parse(e.time) - Date.parse(timeline[0].time)) / 1000).toFixed(1)}`).join(', ');

async function statesOf(namespace: string): Promise<Map<string, DemoTableState>> {
  const states = new Map<string, DemoTableState>();
  for (const pod of demo.dbPods) states.set(pod, await demo.database!.tableState({ namespace, pod }));
  return states;
}

async function backup(type: 'full' | 'incremental') {
  const started = Date.now();
  const created = await request(server).post(`${shopPath}/backups`).send({ type });
  expect(created.status).toBe(201);
  const detail = await waitForOperation({ server, kind: 'backups', id: created.body.id, timeoutMs: 600_000 });
  timings.push(`backup ${type}: ${seconds(started)} (timeline entries, s after the start: ${timelineOffsets(detail.timeline)})`);
  return detail;
}

async function restore(namespace: string) {
  const started = Date.now();
  const created = await request(server)
    .post(`${shopPath}/restores`)
    .send({ backupId: incrementalId, namespace, readyTimeoutSeconds: 300 });
  expect(created.status).toBe(201);
  const detail = await waitForOperation({ server, kind: 'restores', id: created.body.id, timeoutMs: 600_000 });
  timings.push(`restore into ${namespace}: ${seconds(started)} (timeline entries, s after the start: ${timelineOffsets(detail.timeline)})`);
  return detail;
}

async function waitForNamespaceGone(namespace: string) {
  for (let i = 0; i < 240; i++) {
    const left = await core.listNamespace();
    if (!left.items.some(n => n.metadata?.name === namespace)) return;
    await sleep(1000);
  }
  throw new Error(`namespace ${namespace} was not deleted within 240 s`);
}

async function readyDbPods(namespace: string): Promise<V1Pod[]> {
  const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=db' })).items;
  return pods.filter(p => p.status?.containerStatuses?.every(s => s.ready));
}

/** Containers crictl lists through the node's CRI endpoint, by container id. */
async function criContainers(): Promise<Map<string, { state: string; pod: string; namespace: string; name: string }>> {
  const { stdout } = await run(binaryPath('crictl'), ['--runtime-endpoint', sandbox.criEndpoint!, 'ps', '-o', 'json']);
  const list = (JSON.parse(stdout) as {
    containers: Array<{ id: string; state: string; metadata: { name: string }; labels: Record<string, string> }>;
  }).containers;
  return new Map(
    list.map(c => [
      c.id,
      { state: c.state, name: c.metadata.name, pod: c.labels['io.kubernetes.pod.name'], namespace: c.labels['io.kubernetes.pod.namespace'] },
    ]),
  );
}

/** The app's pods in a namespace are real containers, running, ready, listed by crictl. */
async function expectRealContainers(namespace: string) {
  const pods = (await core.listNamespacedPod({ namespace })).items.filter(p => p.metadata?.labels?.['app.kubernetes.io/instance'] === 'demo');
  expect(pods.map(p => p.metadata!.name).sort()).toEqual([...demo.dbPods, expect.stringMatching(/^demo-web-/)]);
  const listed = await criContainers();
  for (const pod of pods) {
    expect(pod.status?.phase).toBe('Running');
    for (const status of pod.status!.containerStatuses!) {
      expect(status.ready).toBe(true);
      expect(status.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
      expect(listed.get(status.containerID!.slice('containerd://'.length))).toEqual({
        state: 'CONTAINER_RUNNING',
        name: status.name,
        pod: pod.metadata!.name,
        namespace,
      });
    }
  }
  return pods;
}

beforeAll(async () => {
  const started = Date.now();
  sandbox = await startE2eSandbox({ node: 'real' });
  timings.push(`sandbox start: ${seconds(started)}`);
  const installed = Date.now();
  demo = await installDemoApp(sandbox, { rows: 500 });
  timings.push(`demo app install (2 PostgreSQL replicas, 500 rows each): ${seconds(installed)}`);
  core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-acceptance-'));
  const backend = await startFerryBackend({ sandbox, repositoryDir });
  server = backend.server;
  stopBackend = () => backend.stop();
}, 600_000);

afterAll(async () => {
  // eslint-disable-next-line no-console
  console.log(`Acceptance timings on the real node:\n  ${timings.join('\n  ')}`);
  await stopBackend?.();
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('backup and restore of the demo app running PostgreSQL on a real node', () => {
  it('backs up through the API, full then incremental after more rows, running the chart hooks in the containers', async () => {
    fullState = await statesOf('demo');
    const full = await backup('full');
    expect(full.failures).toEqual([]);
    expect(full).toMatchObject({ phase: 'Completed', kind: 'full' });
    // Nothing wrote rows meanwhile: the full backup holds these.
    expect(await statesOf('demo')).toEqual(fullState);

    for (const pod of demo.dbPods) await demo.database!.addRows({ pod, count: 300 });
    const before = await statesOf('demo');
    const incremental = await backup('incremental');
    expect(incremental.failures).toEqual([]);
    expect(incremental).toMatchObject({ phase: 'Completed', kind: 'incremental' });
    incrementalId = incremental.id;
    expect(await statesOf('demo')).toEqual(before);
    for (const [pod, state] of before) {
      expect(state.rows).toBe(fullState.get(pod)!.rows + 300);
      backedUp.set(pod, state);
    }
    expect(incremental.volumes.map((v: { pvc: string; phase: string }) => `${v.pvc}:${v.phase}`).sort()).toEqual(
      ['data', 'raw', 'wal'].flatMap(claim => demo.dbPods.map(pod => `${claim}-${pod}:Completed`)).sort(),
    );

    // The backup detail shows each hook's outcome: CHECKPOINT in both PostgreSQL containers
    // before the snapshots, the post-hook after them.
    const hooks = (incremental.hooks as HookResult[]).map(h => [h.stage, h.source, h.pod, h.container, h.outcome, h.exitCode, h.stdout]);
    expect(hooks).toEqual([
      ['pre', 'annotation', 'demo-db-0', 'db', 'Succeeded', 0, expect.stringMatching(/^checkpoint done at [0-9A-F]+\/[0-9A-F]+$/)],
      ['pre', 'annotation', 'demo-db-1', 'db', 'Succeeded', 0, expect.stringMatching(/^checkpoint done at [0-9A-F]+\/[0-9A-F]+$/)],
      ['post', 'annotation', 'demo-db-0', 'db', 'Succeeded', 0, expect.stringMatching(/^nothing to resume \(CHECKPOINT pauses no writes\); WAL at /)],
      ['post', 'annotation', 'demo-db-1', 'db', 'Succeeded', 0, expect.stringMatching(/^nothing to resume \(CHECKPOINT pauses no writes\); WAL at /)],
    ]);
    const detail = await request(server).get(`${shopPath}/backups/${incrementalId}`);
    expect(detail.body.hooks).toEqual(incremental.hooks);

    // Rows written after the backup are not in it: the restores below must not bring them back.
    await demo.database!.addRows({ count: 7 });
  });

  it('restores the incremental after the namespace is deleted: PostgreSQL starts from the restored volume with exactly its rows, in real containers', async () => {
    await core.deleteNamespace({ name: 'demo' });
    await waitForNamespaceGone('demo');

    const restored = await restore('demo');
    expect(restored.failures).toEqual([]);
    expect(restored.phase).toBe('Completed');
    expect(restored.volumes.map((v: { pvc: string; phase: string }) => `${v.pvc}:${v.phase}`).sort()).toEqual(
      ['data', 'raw', 'wal'].flatMap(claim => demo.dbPods.map(pod => `${claim}-${pod}:Completed`)).sort(),
    );
    expect((await readyDbPods('demo')).length).toBe(demo.dbPods.length);
    await expectRealContainers('demo');

    for (const [pod, state] of backedUp) {
      expect(await demo.database!.tableState({ namespace: 'demo', pod })).toEqual(state);
      // PostgreSQL found the data folder of a running server (the snapshot is crash-consistent)
      // and recovered it by WAL replay; it did not initialise a new one.
      const log = await core.readNamespacedPodLog({ namespace: 'demo', name: pod, container: 'db' });
      expect(log).not.toMatch(/Initialised/);
      expect(log).toMatch(/database system was (interrupted|not properly shut down)/);
      expect(log).toMatch(/database system is ready to accept connections/);
    }
    // The raw Block claims come back byte for byte.
    for (const [claim, extents] of demo.written) {
      for (const { offset, data } of extents) {
        expect((await sandbox.readVolume({ namespace: 'demo', claim, offset, length: data.length })).equals(data)).toBe(true);
      }
    }
  });

  it('restores the incremental into another namespace while the restored original runs: the same rows there', async () => {
    const original = await expectRealContainers('demo');
    const containers = original.flatMap(p => p.status!.containerStatuses!.map(s => s.containerID));

    const copy = await restore('demo-copy');
    expect(copy.failures).toEqual([]);
    expect(copy.phase).toBe('Completed');
    await expectRealContainers('demo-copy');
    for (const [pod, state] of backedUp) {
      expect(await demo.database!.tableState({ namespace: 'demo-copy', pod })).toEqual(state);
    }
    // The original ran on, untouched: the same containers, never restarted, its rows unchanged.
    const after = await expectRealContainers('demo');
    expect(after.flatMap(p => p.status!.containerStatuses!.map(s => s.containerID))).toEqual(containers);
    expect(after.flatMap(p => p.status!.containerStatuses!.map(s => s.restartCount))).toEqual(containers.map(() => 0));
    for (const [pod, state] of backedUp) {
      expect(await demo.database!.tableState({ namespace: 'demo', pod })).toEqual(state);
    }
    // Both copies take writes independently.
    await demo.database!.addRows({ namespace: 'demo-copy', count: 3 });
    expect((await demo.database!.tableState({ namespace: 'demo-copy' })).rows).toBe(backedUp.get('demo-db-0')!.rows + 3);
    expect(await demo.database!.tableState({ namespace: 'demo' })).toEqual(backedUp.get('demo-db-0'));
  });
});
