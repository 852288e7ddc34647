import { AppsV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { binaryPath, repoRoot } from './binaries';
import { DemoDatabase, demoDatabase } from './demoDatabase';
import type { Sandbox } from './sandbox';
import type { PushedImage } from './testImage';
import { waitFor } from './waitFor';

const execFileAsync = promisify(execFile);

export type InstallDemoAppOptions = {
  /** Default `demo`. */
  namespace?: string;
  /** Helm release name. Default `demo`. */
  release?: string;
  /** Chart folder. Default `test/fixtures/charts/demo`. */
  chart?: string;
  /** Extra `--set key=value` pairs. */
  set?: Record<string, string>;
  /**
   * Write recognisable bytes into the `raw` Block claims, which tests own (default true; data and
   * wal are PostgreSQL's).
   */
  fillVolumes?: boolean;
  /**
   * A Block claim `raw` per db replica that no container uses (chart value db.rawVolume.enabled),
   * for byte-exact checks. Default true.
   */
  rawVolumes?: boolean;
  /** Rows written into the table of every db replica after install (default 100; 0: no table). */
  rows?: number;
};

/** Repositories of the images the demo chart runs, in the sandbox's registry (tag `1.0`). */
export const demoImages = { web: 'demo/web', db: 'demo/db' } as const;

export type DemoApp = {
  namespace: string;
  release: string;
  /** The node that runs PostgreSQL and the web server in containers. */
  node: 'real';
  /** The db pods (`<release>-db-<i>`). */
  dbPods: string[];
  /** Claim name → the bytes written into it, by offset (what a restore must bring back). */
  written: Map<string, Array<{ offset: number; data: Buffer }>>;
  /** The images the release runs, in the sandbox's registry. */
  images: PushedImage[];
  /** SQL helpers (rows in, count and checksum out, any namespace). */
  database: DemoDatabase;
};

function helmEnv(sandbox: Sandbox) {
  return {
    ...process.env,
    KUBECONFIG: sandbox.kubeconfigPath,
    HELM_CACHE_HOME: path.join(sandbox.dataDir, 'helm', 'cache'),
    HELM_CONFIG_HOME: path.join(sandbox.dataDir, 'helm', 'config'),
  };
}

/** The demo images of the sandbox (already in its registry), with their manifest digests. */
async function builtDemoImages(sandbox: Sandbox): Promise<Array<[component: string, image: PushedImage]>> {
  const registry = sandbox.registry;
  const headers: Record<string, string> = registry.auth
    ? { authorization: `Basic ${Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64')}` }
    : {};
  return Promise.all(
    Object.entries(sandbox.images.demo).map(async ([component, reference]) => {
      const [repository, tag] = reference.slice(registry.host.length + 1).split(':');
      const head = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { ...headers, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      const digest = head.headers.get('docker-content-digest');
      if (head.status !== 200 || !digest) throw new Error(`the sandbox registry does not serve ${reference} (HTTP ${head.status})`);
      return [component, { reference, digest, blobs: [], uploaded: [] }] as [string, PushedImage];
    }),
  );
}

/** Waits until every pod of the release runs real containers, all ready (a check beyond helm's). */
async function waitForRealContainers(sandbox: Sandbox, namespace: string, release: string): Promise<V1Pod[]> {
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  return waitFor(
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` })).items;
      const ready = pods.every(
        p =>
          p.status?.phase === 'Running' &&
          (p.status.containerStatuses ?? []).length > 0 &&
          p.status.containerStatuses!.every(s => s.ready && s.state?.running && s.containerID?.startsWith('containerd://')),
      );
      return pods.length > 0 && ready ? pods : undefined;
    },
    { description: `the pods of release ${release} to run ready containers`, timeoutMs: 120_000, intervalMs: 500 },
  );
}

/** Deterministic, scattered extents (a header, three 64 KiB extents, the last 4 KiB) written into a claim. */
async function fillClaim(sandbox: Sandbox, namespace: string, name: string) {
  const file = await sandbox.claimVolumePath({ namespace, claim: name });
  const { size } = fs.statSync(file);
  const extents: Array<{ offset: number; data: Buffer }> = [];
  const seed = crypto.createHash('sha256').update(`${namespace}/${name}`).digest();
  const offsets = [0, Math.floor(size / 3), Math.floor(size / 2) + 12_288, size - 4096].map(o => o - (o % 4096));
  for (const [i, offset] of offsets.entries()) {
    const length = i === offsets.length - 1 ? 4096 : 65_536;
    const data = Buffer.alloc(length);
    for (let at = 0; at < length; at += 32) {
      crypto.createHash('sha256').update(seed).update(`${offset + at}`).digest().copy(data, at);
    }
    await sandbox.writeVolume({ namespace, claim: name, offset, data });
    extents.push({ offset, data });
  }
  return extents;
}

/**
 * `helm upgrade --install` of the demo chart into the sandbox: the images built here
 * (`sandbox.images.demo`: PostgreSQL 15 and a busybox httpd) with the chart's Velero backup hooks.
 * Waits until every claim is bound and every container running and ready, creates the table
 * `orders` with `rows` rows in every db replica (through `psql`), writes the extents into the
 * `raw` Block claims, and returns the `database` helpers.
 */
export async function installDemoApp(sandbox: Sandbox, options: InstallDemoAppOptions = {}): Promise<DemoApp> {
  const namespace = options.namespace ?? 'demo';
  const release = options.release ?? 'demo';
  const chart = options.chart ?? path.join(repoRoot, 'test', 'fixtures', 'charts', 'demo');
  const images: PushedImage[] = [];
  const values: Record<string, string> = { 'db.backupHooks': 'true', 'db.rawVolume.enabled': String(options.rawVolumes ?? true) };
  for (const [component, image] of await builtDemoImages(sandbox)) {
    images.push(image);
    values[`${component}.image`] = image.reference;
  }
  values['web.port'] = '8080'; // busybox httpd runs as a user that cannot bind port 80
  if (sandbox.registry.auth) {
    // The chart makes a pull secret of these and names it in its pods' imagePullSecrets.
    values['imageCredentials.registry'] = sandbox.registry.host;
    values['imageCredentials.username'] = sandbox.registry.auth.username;
    values['imageCredentials.password'] = sandbox.registry.auth.password;
  }
  Object.assign(values, options.set);
  const sets = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  // The node pulls the images and runs initdb in each replica, one after the other.
  await execFileAsync(
    binaryPath('helm'),
    ['upgrade', '--install', release, chart, '--namespace', namespace, '--create-namespace', '--wait', '--timeout', '300s', ...sets],
    { env: helmEnv(sandbox) },
  ).catch(error => {
    throw new Error(`helm install of the demo chart into ${namespace} failed: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
  });
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  const apps = sandbox.kubeConfig.makeApiClient(AppsV1Api);
  await waitFor(
    async () => {
      const statefulSets = await apps.listNamespacedStatefulSet({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
      return statefulSets.items.every(s => (s.status?.readyReplicas ?? 0) === (s.spec?.replicas ?? 1));
    },
    { description: `the stateful sets of release ${release} to be ready`, timeoutMs: 60_000 },
  );
  const pods = await waitForRealContainers(sandbox, namespace, release);
  const dbPods = pods
    .filter(p => p.metadata?.labels?.['app.kubernetes.io/component'] === 'db')
    .map(p => p.metadata!.name!)
    .sort();
  const database = demoDatabase(sandbox.kubeConfig, { namespace, release });
  if ((options.rows ?? 100) > 0) {
    for (const pod of dbPods) await database.addRows({ pod, count: options.rows ?? 100 });
  }
  const claims = await core.listNamespacedPersistentVolumeClaim({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${release}`,
  });
  const written = new Map<string, Array<{ offset: number; data: Buffer }>>();
  if (options.fillVolumes ?? true) {
    for (const claim of claims.items) {
      const name = claim.metadata!.name!;
      // Only Block claims that no container uses are the tests' to write.
      if (claim.spec?.volumeMode === 'Block' && name.startsWith('raw-')) written.set(name, await fillClaim(sandbox, namespace, name));
    }
  }
  return { namespace, release, node: sandbox.node, dbPods, written, images, database };
}
