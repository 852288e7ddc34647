import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { binaryPath } from './binaries';
import { writeKubeconfigFile } from './kubeconfigFile';
import { ManagedProcess, startProcess } from './managedProcess';
import { freeLoopbackPort } from './ports';
import { SandboxPki } from './pki';
import { waitFor } from './waitFor';

export type ControlPlaneOptions = {
  dataDir: string;
  pki: SandboxPki;
  /** Where the admin kubeconfig is written. */
  kubeconfigPath: string;
  log: (message: string) => void;
};

export type ControlPlane = {
  apiServerUrl: string;
  etcdUrl: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
};

/** Service ClusterIP range of the sandbox. */
export const serviceClusterIpRange = '10.0.0.0/24';

/**
 * Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler on free loopback
 * ports, each in its own process group, logs in `<dataDir>/logs`, pid files in `<dataDir>/run`.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { dataDir, pki, log } = options;
  const logs = path.join(dataDir, 'logs');
  const pidDir = path.join(dataDir, 'run');
  const configDir = path.join(dataDir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    // Reverse order: clients first, etcd last.
    for (const child of [...processes].reverse()) await child.stop(5000);
  };
  const launch = (name: string, args: string[]) => {
    const child = startProcess({
      name,
      command: binaryPath(name as 'etcd'),
      args,
      logFile: path.join(logs, `${name}.log`),
      pidDir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    processes.push(child);
    return child;
  };
  const alive = (child: ManagedProcess) => {
    if (child.hasExited()) {
      throw new Error(`${child.name} exited during start-up; last log lines:\n${child.logTail()}`);
    }
  };

  try {
    const [etcdPort, peerPort, apiPort] = await Promise.all([
      freeLoopbackPort(),
      freeLoopbackPort(),
      freeLoopbackPort(),
    ]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    log(`Starting etcd on ${etcdUrl}`);
    const etcd = launch('etcd', [
      '--name=sandbox',
      `--data-dir=${path.join(dataDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=sandbox=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
      '--quota-backend-bytes=4294967296',
    ]);
    await waitFor(
      async () => {
        alive(etcd);
        const response = await fetch(`${etcdUrl}/health`);
        return response.ok;
      },
      { description: 'etcd to answer /health', timeoutMs: 30_000 },
    );

    const apiServerUrl = `https://127.0.0.1:${apiPort}`;
    log(`Starting kube-apiserver on ${apiServerUrl}`);
    const apiserver = launch('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // Endpoints may not hold loopback addresses: no endpoints for the kubernetes Service (pods
      // do not reach the apiserver, which listens on 127.0.0.1 only).
      '--endpoint-reconciler-type=none',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dataDir, 'apiserver')}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--allow-privileged=true',
      `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
      `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false',
      '--v=1',
    ]);
    await waitFor(
      async () => {
        alive(apiserver);
        return (await httpsGet(`${apiServerUrl}/readyz`, pki)) === 200;
      },
      { description: 'kube-apiserver to answer /readyz', timeoutMs: 90_000, intervalMs: 200 },
    );
    writeKubeconfigFile({
      file: options.kubeconfigPath,
      server: apiServerUrl,
      caFile: pki.ca.cert,
      user: pki.admin,
      name: 'ferry-sandbox',
    });
    const kcmConfig = writeKubeconfigFile({
      file: path.join(configDir, 'controller-manager.kubeconfig'),
      server: apiServerUrl,
      caFile: pki.ca.cert,
      user: pki.controllerManager,
      name: 'ferry-sandbox',
    });
    const schedulerConfig = writeKubeconfigFile({
      file: path.join(configDir, 'scheduler.kubeconfig'),
      server: apiServerUrl,
      caFile: pki.ca.cert,
      user: pki.scheduler,
      name: 'ferry-sandbox',
    });

    log('Starting kube-controller-manager and kube-scheduler');
    const kcm = launch('kube-controller-manager', [
      `--kubeconfig=${kcmConfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.ca.cert}`,
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      '--use-service-account-credentials=true',
      '--leader-elect=false',
      '--cluster-name=ferry-sandbox',
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--profiling=false',
      '--v=1',
    ]);
    const scheduler = launch('kube-scheduler', [
      `--kubeconfig=${schedulerConfig}`,
      `--authentication-kubeconfig=${schedulerConfig}`,
      `--authorization-kubeconfig=${schedulerConfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ]);
    // Both must still be running a moment later (bad flags make them exit at once).
    await new Promise(resolve => setTimeout(resolve, 300));
    alive(kcm);
    alive(scheduler);
    return { apiServerUrl, etcdUrl, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** GET with the admin client certificate; resolves the HTTP status (0 when unreachable). */
function httpsGet(url: string, pki: SandboxPki): Promise<number> {
  return new Promise(resolve => {
    const request = https.get(
      url,
      {
        ca: fs.readFileSync(pki.ca.cert),
        cert: fs.readFileSync(pki.admin.cert),
        key: fs.readFileSync(pki.admin.key),
        timeout: 2000,
      },
      response => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', () => resolve(0));
    request.on('timeout', () => {
      request.destroy();
      resolve(0);
    });
  });
}
