/*
 * npm run bench:e2e — where the time of a backup and of a restore goes, on the sandbox's real
 * node (kubelet, containerd, the CSI driver on loop devices, datamover Jobs as real containers):
 * the demo app with one 4 GiB volume (a raw Block claim with 10 % data, beside PostgreSQL's two
 * small claims) and with four small volumes (two PostgreSQL replicas' data and WAL claims).
 * Each is backed up in full and restored into a new namespace, then backed up again
 * (incremental: the steady state, with the datamover's image already on the node), from the
 * request to the terminal phase; the phases come from the status (timeline and each volume's
 * `timings`), with the node's logs kept beside the tables. Not part of the
 * test suite: jest runs `*.test.ts` files, and this one only through the bench script
 * (`--testMatch` on *.bench.ts); the `.test.` in its name makes the linter treat it as test code
 * (devDependencies, test helpers). Each case fails unless the backup and the restore both end
 * Completed, without failures, with every claim of the install Completed. Needs root, as the
 * e2e suites.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Entity } from '@backstage/catalog-model';
import { installDemoApp, type Sandbox } from '@ferry/sandbox';
import request from 'supertest';
import { writeInitialState } from '@ferry/qcow2/bench/workload';
import { demoClaims } from '../__testUtils__/demoState';
import { demoEntity, startE2eSandbox, startFerryBackend } from '../__testUtils__/sandboxBackend';
import { waitForImageCache } from '../__testUtils__/ferryChart';
import { formatPhases, phasesOf, type OperationTimes } from './phases';

jest.setTimeout(3_600_000);

const run = promisify(execFile);
const GiB = 1024 ** 3;

interface Workload {
  name: string;
  namespace: string;
  release: string;
  describe: string;
  /** How many claims the install has (each backed up and restored). */
  volumes: number;
}

const workloads: Workload[] = [
  { name: 'shop-small', namespace: 'demo-small', release: 'demo', describe: 'four small volumes (2 PostgreSQL replicas: data 64 MiB + WAL archive 16 MiB each)', volumes: 4 },
  { name: 'shop-big', namespace: 'demo-big', release: 'demo', describe: 'one 4 GiB volume with 10 % data (raw Block claim), beside PostgreSQL’s data 64 MiB and WAL 16 MiB', volumes: 3 },
];

const entityOf = (w: Workload): Entity => ({
  ...demoEntity,
  metadata: {
    ...demoEntity.metadata,
    name: w.name,
    annotations: { 'ferry.io/helm-release': w.release, 'ferry.io/namespace': w.namespace, 'ferry.io/cluster': 'sandbox' },
  },
});

let sandbox: Sandbox;
let server: Awaited<ReturnType<typeof startFerryBackend>>['server'];
let stopBackend: (() => Promise<void>) | undefined;
let custom: CustomObjectsApi;
const reports: string[] = [];
const raw: unknown[] = [];

/** Fills the first raw claim of a release with bench:qcow2's state 0 (10 % data in extents). */
async function fillBigVolume(w: Workload) {
  const claim = `raw-${w.release}-db-0`;
  const file = await sandbox.claimVolumePath({ namespace: w.namespace, claim });
  const { size } = await fs.stat(file);
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-e2e-'));
  try {
    const state = path.join(scratch, 'state0.raw');
    await writeInitialState({ path: state, size, dataFraction: 0.1, seed: 7 });
    await run('dd', [`if=${state}`, `of=${file}`, 'bs=4M', 'conv=notrunc,sparse', 'status=none']);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  return { claim, size };
}

/** Polls the resource (every 200 ms) until its phase is terminal; returns its status. */
async function waitForResource(plural: 'backups' | 'restores', name: string) {
  for (let i = 0; i < 18_000; i++) {
    const list = (await custom.listClusterCustomObject({ group: 'ferry.io', version: 'v1alpha1', plural })) as {
      items: Array<{ metadata: { name: string }; status?: Record<string, unknown> }>;
    };
    const found = list.items.find(o => o.metadata.name === name);
    const phase = found?.status?.phase as string | undefined;
    if (phase && ['Completed', 'PartiallyFailed', 'Failed'].includes(phase)) return found!.status as Record<string, unknown>;
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  throw new Error(`${plural} ${name} did not finish`);
}

async function operation(w: Workload, kind: 'backup' | 'restore', body: Record<string, unknown>) {
  const entityPath = `/api/backup/entities/component/default/${w.name}`;
  const createdAt = Date.now();
  const created = await request(server).post(`${entityPath}/${kind}s`).send(body);
  if (created.status !== 201) throw new Error(`POST ${kind}s: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const name = kind === 'backup' ? `ferry-${id.toLowerCase()}` : `ferry-restore-${id.toLowerCase()}`;
  const status = await waitForResource(`${kind}s`, name);
  raw.push({ workload: w.name, kind, id, status });
  // timed only when it completed (the caller's expectations say what went wrong otherwise)
  const label = kind === 'backup' ? `${body.type} backup` : 'restore';
  if (status.phase === 'Completed') reports.push(...timesOf({ w, kind, label, status, createdAt }));
  return { id, status };
}

/** The tables of a completed operation: its phases and each volume's Job. */
function timesOf(o: { w: Workload; kind: 'backup' | 'restore'; label: string; status: Record<string, unknown>; createdAt: number }) {
  const { w, kind, status, createdAt } = o;
  const timeline = status.timeline as OperationTimes['timeline'];
  const times: OperationTimes = {
    createdAt,
    // the terminal entry: a backup's completedAt is set at its commit, before the cleanup
    completedAt: Math.max(Date.parse(status.completedAt as string), Date.parse(timeline[timeline.length - 1].time)),
    timeline,
    volumes: (status.volumes ?? []) as OperationTimes['volumes'],
  };
  const report = phasesOf(kind, times);
  const volumeLines = times.volumes.map(v => {
    const t = v.timings ?? {};
    const s = (a?: string, b?: string) => (a && b ? ((Date.parse(b) - Date.parse(a)) / 1000).toFixed(2) : '–');
    return `| ${v.pvc} | ${s(t.jobCreatedAt, t.processStartedAt)} | ${s(t.processStartedAt, t.dataStartedAt)} | ${s(t.dataStartedAt, t.dataFinishedAt)} | ${s(t.dataFinishedAt, t.doneAt)} |`;
  });
  return [
    formatPhases(`${o.label} of ${w.name} (${w.describe})`, report),
    ['', '| volume | Job created → process start s | process start → data pass s | data pass s | data pass end → Job end seen s |', '|---|---:|---:|---:|---:|', ...volumeLines].join('\n'),
  ];
}

/** What an operation's status says of its end: phase, failures, each volume's phase. */
function outcomeOf(status: Record<string, unknown>) {
  const volumes = (status.volumes ?? []) as Array<{ pvc: string; phase?: string }>;
  return {
    phase: status.phase,
    failures: status.failures ?? [],
    volumes: volumes.map(v => `${v.pvc}:${v.phase}`).sort(),
    // shown beside the others when it did not complete
    ...(status.phase !== 'Completed' && { message: status.message }),
  };
}

beforeAll(async () => {
  const started = Date.now();
  sandbox = await startE2eSandbox({ node: 'real' });
  custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
  reports.push(`sandbox start ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const installed = Date.now();
  await installDemoApp(sandbox, { namespace: workloads[0].namespace, release: workloads[0].release, rows: 500, rawVolumes: false });
  await installDemoApp(sandbox, {
    namespace: workloads[1].namespace,
    release: workloads[1].release,
    rows: 100,
    rawVolumes: true,
    fillVolumes: false,
    set: { 'db.replicas': '1', 'db.rawVolume.size': '4Gi' },
  });
  const big = await fillBigVolume(workloads[1]);
  if (big.size !== 4 * GiB) throw new Error(`the raw claim has ${big.size} bytes, not 4 GiB`);
  reports.push(`demo apps installed and the 4 GiB volume filled in ${((Date.now() - installed) / 1000).toFixed(1)} s`);
  const repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-e2e-repo-'));
  // the default parallelism (the e2e suites' configuration says 2)
  const backend = await startFerryBackend({ sandbox, repositoryDir, entities: workloads.map(entityOf), ferry: { datamover: { parallelism: 4 } } });
  server = backend.server;
  // The chart (installed with the backend's token) keeps the datamover image on the node; a real
  // installation does so long before its first backup: wait for its pod as an operator would.
  await waitForImageCache(sandbox);
  stopBackend = async () => {
    await backend.stop();
    await fs.rm(repositoryDir, { recursive: true, force: true });
  };
}, 1_800_000);

afterAll(async () => {
  const text = `bench:e2e ${new Date().toISOString()} on the real node, load ${os.loadavg().map(l => l.toFixed(1)).join(' ')}\n\n${reports.join('\n\n')}\n`;
  // eslint-disable-next-line no-console
  console.log(text);
  // the repository's test-results folder: bench-e2e.sh runs jest in this package's folder
  const out = path.resolve(process.cwd(), '../../test-results');
  await fs.mkdir(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await fs.writeFile(path.join(out, `bench-e2e-${stamp}.md`), text);
  await fs.writeFile(path.join(out, `bench-e2e-${stamp}.json`), JSON.stringify(raw, null, 2));
  // The node's logs (control plane, kubelet, containerd; the CSI sidecars' in csi/) beside the
  // tables, to tell where a slow phase went (e.g. a pod's start) after the sandbox is gone.
  if (sandbox) {
    const logs = path.join(out, `bench-e2e-${stamp}-logs`);
    await fs.cp(path.join(sandbox.dataDir, 'logs'), logs, { recursive: true });
    await fs.cp(path.join(sandbox.dataDir, 'csi', 'logs'), path.join(logs, 'csi'), { recursive: true }).catch(() => undefined);
  }
  await stopBackend?.();
  await sandbox?.stop();
});

it.each(workloads)('backup and restore of $name', async w => {
  const claims = await demoClaims(sandbox, w.namespace, w.release);
  expect(claims).toHaveLength(w.volumes);
  // every claim backed up, then restored, nothing failed
  const completed = { phase: 'Completed', failures: [], volumes: claims.map(c => `${c}:Completed`) };
  const backup = await operation(w, 'backup', { type: 'full' });
  expect(outcomeOf(backup.status)).toEqual(completed);
  const restore = await operation(w, 'restore', { backupId: backup.id, namespace: `${w.namespace}-restored`, readyTimeoutSeconds: 300 });
  expect(outcomeOf(restore.status)).toEqual(completed);
  const incremental = await operation(w, 'backup', { type: 'incremental' });
  expect(outcomeOf(incremental.status)).toEqual(completed);
});
