import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { binaryPath, repoRoot } from './binaries';
import type { Sandbox } from './sandbox';
import { PushedImage, pushTestImage } from './testImage';
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
  /** Write recognisable data into every claim of the release (default true). */
  fillVolumes?: boolean;
};

/** Images the demo chart runs: pushed into the sandbox's registry when it has one. */
export const demoImages = { web: 'demo/web', db: 'demo/db' } as const;

export type DemoApp = {
  namespace: string;
  release: string;
  /** Claim name → the bytes written into it, by offset (what a restore must bring back). */
  written: Map<string, Array<{ offset: number; data: Buffer }>>;
  /** The images the release runs (in the sandbox's registry when it has one). */
  images: PushedImage[];
};

/**
 * `helm install` of the demo chart into the sandbox (waits until its pods are Ready and claims
 * Bound), then writes a few deterministic, scattered extents into each claim's volume so that
 * backups carry real data.
 */
export async function installDemoApp(sandbox: Sandbox, options: InstallDemoAppOptions = {}): Promise<DemoApp> {
  const namespace = options.namespace ?? 'demo';
  const release = options.release ?? 'demo';
  const chart = options.chart ?? path.join(repoRoot, 'test', 'fixtures', 'charts', 'demo');
  const images: PushedImage[] = [];
  const values: Record<string, string> = {};
  if (sandbox.registry) {
    for (const [component, repository] of Object.entries(demoImages)) {
      const image = await pushTestImage(sandbox.registry, { repository, tag: '1.0' });
      images.push(image);
      values[`${component}.image`] = image.reference;
    }
    if (sandbox.registry.auth) {
      // The chart makes a pull secret of these and names it in its pods' imagePullSecrets.
      values['imageCredentials.registry'] = sandbox.registry.host;
      values['imageCredentials.username'] = sandbox.registry.auth.username;
      values['imageCredentials.password'] = sandbox.registry.auth.password;
    }
  }
  Object.assign(values, options.set);
  const sets = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  await execFileAsync(
    binaryPath('helm'),
    ['upgrade', '--install', release, chart, '--namespace', namespace, '--create-namespace', '--wait', '--timeout', '120s', ...sets],
    { env: { ...process.env, KUBECONFIG: sandbox.kubeconfigPath, HELM_CACHE_HOME: path.join(sandbox.dataDir, 'helm', 'cache'), HELM_CONFIG_HOME: path.join(sandbox.dataDir, 'helm', 'config') } },
  );
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  const apps = sandbox.kubeConfig.makeApiClient(AppsV1Api);
  await waitFor(
    async () => {
      const statefulSets = await apps.listNamespacedStatefulSet({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
      return statefulSets.items.every(s => (s.status?.readyReplicas ?? 0) === (s.spec?.replicas ?? 1));
    },
    { description: `the stateful sets of release ${release} to be ready`, timeoutMs: 60_000 },
  );
  const claims = await core.listNamespacedPersistentVolumeClaim({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${release}`,
  });
  const written = new Map<string, Array<{ offset: number; data: Buffer }>>();
  if (options.fillVolumes ?? true) {
    for (const claim of claims.items) {
      const name = claim.metadata!.name!;
      const file = await sandbox.claimVolumePath({ namespace, claim: name });
      const { size } = fs.statSync(file);
      const extents: Array<{ offset: number; data: Buffer }> = [];
      // A header, a few scattered 64 KiB extents, and the last 4 KiB: deterministic per claim.
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
      written.set(name, extents);
    }
  }
  return { namespace, release, written, images };
}
