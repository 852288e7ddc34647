import { CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { binaryPath, createServiceAccountToken, Sandbox } from '@ferry/sandbox';
import { waitFor } from '@ferry/sandbox/src/waitFor';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** charts/ferry: Ferry's cluster side as adopters install it. */
export const ferryChartDir = path.resolve(__dirname, '../../../../../charts/ferry');

export type FerryChart = {
  release: string;
  /** Ferry's namespace (the release's). */
  namespace: string;
  /** The backend's service account. */
  serviceAccount: string;
  /** Its long-lived token (the chart's `<account>-token` Secret). */
  token: string;
};

/** Environment for the sandbox's pinned helm: the sandbox's kubeconfig, caches in its data folder. */
export function helmEnv(sandbox: Sandbox): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KUBECONFIG: sandbox.kubeconfigPath,
    HELM_CACHE_HOME: path.join(sandbox.dataDir, 'helm', 'cache'),
    HELM_CONFIG_HOME: path.join(sandbox.dataDir, 'helm', 'config'),
    HELM_DATA_HOME: path.join(sandbox.dataDir, 'helm', 'data'),
  };
}

/** Runs the sandbox's helm; a failure names the command and helm's own message. */
export async function helm(sandbox: Sandbox, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(binaryPath('helm'), args, { env: helmEnv(sandbox) });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`helm ${args.slice(0, 2).join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

/**
 * `helm upgrade --install` of charts/ferry into the sandbox, as the README tells adopters
 * (`--namespace ferry-system --create-namespace`), then the backend's token once the token
 * controller has filled the chart's Secret. The datamover image is the sandbox registry's, the
 * one the e2e backends' Jobs run (the chart's image cache keeps it on the node).
 */
export async function installFerryChart(
  sandbox: Sandbox,
  options: { release?: string; namespace?: string; set?: Record<string, string> } = {},
): Promise<FerryChart> {
  const release = options.release ?? 'ferry';
  const namespace = options.namespace ?? 'ferry-system';
  const sets = Object.entries({ 'datamover.image': sandbox.images.datamover, ...options.set }).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
  await helm(sandbox, ['upgrade', '--install', release, ferryChartDir, '--namespace', namespace, '--create-namespace', ...sets]);
  const serviceAccount = options.set?.['backend.serviceAccount.name'] ?? 'ferry-backend';
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  const token = await waitFor(
    async () => {
      const secret = await core.readNamespacedSecret({ namespace, name: `${serviceAccount}-token` });
      return secret.data?.token ? Buffer.from(secret.data.token, 'base64').toString() : undefined;
    },
    { description: `the token controller to fill secret ${namespace}/${serviceAccount}-token` },
  );
  return { release, namespace, serviceAccount, token };
}

/** A KubeConfig for the sandbox's API server that authenticates with a bearer token. */
export function kubeConfigWithToken(sandbox: Sandbox, token: string, user = 'token'): KubeConfig {
  const cluster = sandbox.kubeConfig.getCurrentCluster()!;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ ...cluster, name: 'sandbox' }],
    users: [{ name: user, token }],
    contexts: [{ name: 'sandbox', cluster: 'sandbox', user }],
    currentContext: 'sandbox',
  });
  return config;
}

/**
 * Which identity the e2e backends use in a sandbox: by default `chart`, the chart's service
 * account and its least-privilege RBAC, so a missing permission fails a test;
 * FERRY_E2E_BACKEND_IDENTITY=cluster-admin gives a service account bound to cluster-admin instead
 * (only for telling an RBAC gap from a bug while debugging).
 */
export function e2eBackendIdentity(): 'chart' | 'cluster-admin' {
  return process.env.FERRY_E2E_BACKEND_IDENTITY === 'cluster-admin' ? 'cluster-admin' : 'chart';
}

const chartTokens = new WeakMap<Sandbox, Promise<string>>();

/** The backend's token in a sandbox for the chosen identity (the chart installed once per sandbox). */
export function backendToken(sandbox: Sandbox, identity = e2eBackendIdentity()): Promise<string> {
  if (identity === 'cluster-admin') return createServiceAccountToken(sandbox).then(({ token }) => token);
  let token = chartTokens.get(sandbox);
  if (!token) {
    token = installFerryChart(sandbox).then(chart => chart.token);
    chartTokens.set(sandbox, token);
  }
  return token;
}

/** The chart's datamover image cache pod once its container is ready (it then holds the image). */
export function waitForImageCache(sandbox: Sandbox, namespace = 'ferry-system'): Promise<V1Pod> {
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  return waitFor(
    async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=datamover-image-cache' })).items.find(
        p => p.status?.containerStatuses?.[0]?.ready,
      ),
    { description: "the chart's datamover image cache to be ready", timeoutMs: 180_000 },
  );
}
