import { CoreV1Api } from '@kubernetes/client-node';
import { binaryPath } from './binaries';
import { DemoApp, installDemoApp } from './demoApp';
import { demoWebPage } from './images/demoImages';
import { execInPod } from './podExec';
import { Sandbox } from './sandbox';
import { execFileAsync, useSharedSandbox } from './testing/harness';
import { waitFor } from './waitFor';

// The demo app on a real node (kubelet, containerd, runc, the CSI driver): PostgreSQL 15 and a
// busybox httpd built here, run from the sandbox registry, data written through SQL. Needs root.

jest.setTimeout(300_000);

const context = useSharedSandbox(() => ({ node: 'real' }));
let sandbox: Sandbox;
let core: CoreV1Api;
let demo: DemoApp;
const namespace = 'demo';

beforeAll(async () => {
  ({ sandbox, core } = context);
  demo = await installDemoApp(sandbox);
}, 300_000);

type CriContainer = { id: string; metadata: { name: string }; image: { image: string }; labels: Record<string, string>; state: string };

async function criContainers(): Promise<CriContainer[]> {
  const { stdout } = await execFileAsync(binaryPath('crictl'), ['--runtime-endpoint', sandbox.criEndpoint!, 'ps', '-o', 'json']);
  return (JSON.parse(stdout) as { containers: CriContainer[] }).containers;
}

/** The commands of the chart's Velero hook annotations on a running db pod. */
async function hookCommand(pod: string, stage: 'pre' | 'post'): Promise<string[]> {
  const live = await core.readNamespacedPod({ namespace, name: pod });
  return JSON.parse(live.metadata!.annotations![`${stage}.hook.backup.velero.io/command`]) as string[];
}

describe('the demo app on a real node', () => {
  it('runs PostgreSQL and the web server as real containers from the sandbox registry', async () => {
    expect(demo.node).toBe('real');
    expect(demo.dbPods).toEqual(['demo-db-0', 'demo-db-1']);
    expect(demo.images.map(i => i.reference).sort()).toEqual([sandbox.images!.demo.db, sandbox.images!.demo.web].sort());
    const pods = (await core.listNamespacedPod({ namespace })).items;
    expect(pods).toHaveLength(3);
    const running = await criContainers();
    for (const pod of pods) {
      const [status] = pod.status!.containerStatuses!;
      expect(status).toMatchObject({ ready: true, state: { running: expect.anything() } });
      const id = status.containerID!.replace(/^containerd:\/\//, '');
      // crictl, through the node's CRI endpoint, lists that very container as running.
      expect(running).toContainEqual(
        expect.objectContaining({
          id,
          state: 'CONTAINER_RUNNING',
          labels: expect.objectContaining({ 'io.kubernetes.pod.name': pod.metadata!.name, 'io.kubernetes.pod.namespace': namespace }),
        }),
      );
      expect(status.imageID).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items;
    expect(claims.map(c => `${c.metadata!.name}:${c.spec!.volumeMode}:${c.status!.phase}`).sort()).toEqual([
      'data-demo-db-0:Filesystem:Bound',
      'data-demo-db-1:Filesystem:Bound',
      'raw-demo-db-0:Block:Bound',
      'raw-demo-db-1:Block:Bound',
      'wal-demo-db-0:Filesystem:Bound',
      'wal-demo-db-1:Filesystem:Bound',
    ]);
    // PostgreSQL's data folder is on the claim's ext4.
    const df = await execInPod(sandbox.kubeConfig, { namespace, pod: 'demo-db-0', container: 'db', command: ['sh', '-c', 'grep " /var/lib/postgresql/data " /proc/mounts; psql -XAt -U demo -d demo -c "SHOW data_directory"'] });
    expect(df.stdout).toMatch(/^\/dev\/loop\d+ \/var\/lib\/postgresql\/data ext4 rw/);
    expect(df.stdout).toMatch(/^\/var\/lib\/postgresql\/data\/pgdata$/m);
  });

  it('serves the web page over HTTP at the pod address', async () => {
    const [web] = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=web' })).items;
    const response = await fetch(`http://${web.status!.podIP}:8080/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(demoWebPage);
  });

  it('holds rows written through SQL in every replica, with count and checksum', async () => {
    const database = demo.database!;
    const first = await database.tableState();
    const second = await database.tableState({ pod: 'demo-db-1' });
    expect(first.rows).toBe(100);
    expect(second.rows).toBe(100);
    expect(first.checksum).toMatch(/^[0-9a-f]{32}$/);
    // Random content: the two databases differ.
    expect(second.checksum).not.toBe(first.checksum);
    const more = await database.addRows({ count: 25 });
    expect(more.rows).toBe(125);
    expect(more.checksum).not.toBe(first.checksum);
    expect(await database.tableState()).toEqual(more);
    await expect(database.sql({ sql: 'SELECT * FROM missing' })).rejects.toThrow(/psql in pod demo\/demo-db-0 exited with 3: .*relation "missing" does not exist/);
  });

  it('takes the password from the chart Secret (scram over TCP) and refuses another', async () => {
    const [db0] = (await core.listNamespacedPod({ namespace, labelSelector: 'statefulset.kubernetes.io/pod-name=demo-db-0' })).items;
    const secret = await core.readNamespacedSecret({ namespace, name: 'demo-db-credentials' });
    const password = Buffer.from(secret.data!.password, 'base64').toString();
    // The password comes on stdin into PGPASSWORD (never in psql's arguments).
    const withPassword = (pw: string) =>
      execInPod(sandbox.kubeConfig, {
        namespace,
        pod: 'demo-db-1',
        container: 'db',
        command: ['sh', '-c', `PGPASSWORD="$(cat)" exec psql -XAt -h ${db0.status!.podIP} -U demo -d demo -c "SELECT count(*) FROM orders"`],
        stdin: pw,
      });
    const ok = await withPassword(password);
    expect(ok).toMatchObject({ exitCode: 0, stdout: '125\n' });
    const refused = await withPassword('not-the-password');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/password authentication failed for user "demo"/);
  });

  it('runs the chart\'s backup hooks in the container: CHECKPOINT, then a post-hook that records the WAL position', async () => {
    const pre = await execInPod(sandbox.kubeConfig, { namespace, pod: 'demo-db-0', container: 'db', command: await hookCommand('demo-db-0', 'pre') });
    expect(pre).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^checkpoint done at [0-9A-F]+\/[0-9A-F]+\n$/) });
    const post = await execInPod(sandbox.kubeConfig, { namespace, pod: 'demo-db-0', container: 'db', command: await hookCommand('demo-db-0', 'post') });
    expect(post).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^nothing to resume \(CHECKPOINT pauses no writes\); WAL at [0-9A-F]+\/[0-9A-F]+\n$/) });
    const checkpoints = await demo.database!.sql({ sql: "SELECT checkpoints_req > 0 FROM pg_stat_bgwriter" });
    expect(checkpoints).toBe('t\n');
  });

  it('archives WAL segments into the wal claim', async () => {
    await demo.database!.sql({ sql: 'SELECT pg_switch_wal()' });
    const archived = await waitFor(
      async () => {
        const out = await demo.database!.sql({ sql: 'SELECT archived_count || \' \' || failed_count FROM pg_stat_archiver' });
        const [count, failed] = out.trim().split(' ').map(Number);
        return count > 0 ? { count, failed } : undefined;
      },
      { description: 'a WAL segment to be archived', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(archived.failed).toBe(0);
    const files = await execInPod(sandbox.kubeConfig, { namespace, pod: 'demo-db-0', container: 'db', command: ['ls', '/var/lib/postgresql/wal/archive'] });
    expect(files.stdout.split('\n').filter(f => /^[0-9A-F]{24}$/.test(f)).length).toBeGreaterThanOrEqual(archived.count);
  });

  it('keeps the rows on the claim when the pod is replaced (a new container, no initdb)', async () => {
    const before = await demo.database!.tableState();
    const old = await core.readNamespacedPod({ namespace, name: 'demo-db-0' });
    await core.deleteNamespacedPod({ namespace, name: 'demo-db-0' });
    await waitFor(
      async () => {
        const pod = await core.readNamespacedPod({ namespace, name: 'demo-db-0' });
        const [status] = pod.status?.containerStatuses ?? [];
        return pod.metadata!.uid !== old.metadata!.uid && status?.ready ? pod : undefined;
      },
      { description: 'pod demo-db-0 to be replaced and ready', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(await demo.database!.tableState()).toEqual(before);
    const log = await core.readNamespacedPodLog({ namespace, name: 'demo-db-0', container: 'db' });
    expect(log).not.toMatch(/Initialised/);
    expect(log).toMatch(/database system is ready to accept connections/);
  });

  it('writes the raw bytes of the tests only into the Block claims no container uses', async () => {
    expect([...demo.written.keys()].sort()).toEqual(['raw-demo-db-0', 'raw-demo-db-1']);
    for (const [claim, extents] of demo.written) {
      for (const { offset, data } of extents) {
        expect((await sandbox.readVolume({ namespace, claim, offset, length: data.length })).equals(data)).toBe(true);
      }
    }
  });
});
