import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { binaryPath, DemoApp, demoDatabase, DemoTableState, Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * What a backup of the demo app on a real node must hold, taken just before it: the rows of
 * each PostgreSQL replica (count and checksum, as the database answers) and every byte of the
 * raw Block claims, which no container uses (so only the test changes them). The Filesystem
 * claims (data, wal) are PostgreSQL's, whose live bytes keep changing: their check is the rows,
 * or the restored volume against the backup's own chain hydrated by qemu-img.
 */
export type DemoState = { rows: Map<string, DemoTableState>; raw: Map<string, Buffer> };

/** The release's claims in a namespace, sorted. */
export async function demoClaims(sandbox: Sandbox, namespace = 'demo', release = 'demo'): Promise<string[]> {
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  const claims = await core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
  return claims.items.map(c => c.metadata!.name!).sort();
}

/** The raw Block claims (`raw-<db pod>`) of a demo install. */
export const rawClaims = (demo: DemoApp) => [...demo.written.keys()].sort();

/** Every byte of a claim's volume file. */
export async function readClaim(sandbox: Sandbox, namespace: string, claim: string): Promise<Buffer> {
  return fs.readFile(await sandbox.claimVolumePath({ namespace, claim }));
}

/** SQL helpers of the demo release in any sandbox (a restore may run it in another cluster). */
const databaseOf = (sandbox: Sandbox, demo: DemoApp) => demoDatabase(sandbox.kubeConfig, { namespace: demo.namespace, release: demo.release });

/** Rows per db pod and the raw claims' bytes, in `namespace` (default the install's). */
export async function captureDemoState(sandbox: Sandbox, demo: DemoApp, namespace = demo.namespace): Promise<DemoState> {
  const rows = new Map<string, DemoTableState>();
  for (const pod of demo.dbPods) rows.set(pod, await databaseOf(sandbox, demo).tableState({ namespace, pod }));
  const raw = new Map<string, Buffer>();
  for (const claim of rawClaims(demo)) raw.set(claim, await readClaim(sandbox, namespace, claim));
  return { rows, raw };
}

/**
 * Changes what the next backup must hold: `rows` more rows in every replica (through SQL) and
 * `rawBytes` random bytes into each raw claim at a different offset per claim.
 */
export async function changeDemoData(
  sandbox: Sandbox,
  demo: DemoApp,
  options: { rows: number; rawBytes: number; at?: number },
): Promise<void> {
  for (const pod of demo.dbPods) await databaseOf(sandbox, demo).addRows({ pod, count: options.rows });
  for (const [index, claim] of rawClaims(demo).entries()) {
    const offset = (options.at ?? 1024 * 1024) + index * 1024 * 1024 + 4096;
    await sandbox.writeVolume({ namespace: demo.namespace, claim, offset, data: randomBytes(options.rawBytes) });
  }
}

/**
 * PostgreSQL in `namespace` of `sandbox` returns exactly the rows of `state` in every replica;
 * the raw claims hold its bytes.
 */
export async function expectDemoState(sandbox: Sandbox, demo: DemoApp, namespace: string, state: DemoState) {
  for (const [pod, rows] of state.rows) {
    const table = await databaseOf(sandbox, demo).tableState({ namespace, pod });
    expect({ namespace, pod, table }).toEqual({ namespace, pod, table: rows });
  }
  for (const [claim, bytes] of state.raw) {
    const restored = await readClaim(sandbox, namespace, claim);
    expect({ claim, equal: restored.equals(bytes) }).toEqual({ claim, equal: true });
  }
}

/** Containers crictl lists through the node's CRI endpoint, by container id. */
async function criContainers(sandbox: Sandbox) {
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

/**
 * The release's pods in `namespace` are real containers: Running, every container ready with a
 * containerd id that crictl lists as running in that pod. Returns the pods.
 */
export async function expectRealContainers(sandbox: Sandbox, demo: DemoApp, namespace: string): Promise<V1Pod[]> {
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${demo.release}` })).items;
  expect(pods.map(p => p.metadata!.name).sort()).toEqual([...demo.dbPods, expect.stringMatching(/^demo-web-/)]);
  const listed = await criContainers(sandbox);
  for (const pod of pods) {
    expect({ pod: pod.metadata!.name, phase: pod.status?.phase }).toEqual({ pod: pod.metadata!.name, phase: 'Running' });
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

/** Deletes a namespace without waiting (frees the node of a restored copy no later test needs). */
export async function dropNamespace(sandbox: Sandbox, name: string) {
  await sandbox.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name, gracePeriodSeconds: 0 }).catch(() => undefined);
}

/** Deletes a namespace and waits until it is gone. */
export async function deleteNamespace(sandbox: Sandbox, name: string, timeoutMs = 240_000) {
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  await core.deleteNamespace({ name });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const left = await core.listNamespace();
    if (!left.items.some(n => n.metadata?.name === name)) return;
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
  throw new Error(`namespace ${name} was not deleted within ${timeoutMs / 1000} s`);
}
