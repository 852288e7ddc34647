import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The binaries the sandbox runs; built by `scripts/build-binaries.sh`. */
export type SandboxBinary =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubectl'
  | 'helm'
  | 'versitygw'
  | 'kubelet'
  | 'crictl';

/** Root folder of the sandbox package (resolved through the workspace link, not __dirname). */
export const packageRoot = path.dirname(require.resolve('@ferry/sandbox/package.json'));

/** Root of the Ferry repository (two levels above the package). */
export const repoRoot = path.resolve(packageRoot, '..', '..');

export type SandboxVersions = {
  kubernetes: string;
  etcd: string;
  helm: string;
  versitygw: string;
  /** crictl (sigs.k8s.io/cri-tools); the kubelet has `kubernetes`. */
  criTools: string;
};

/** Pinned versions, read from versions.env (shared with the build script). */
export function sandboxVersions(): SandboxVersions {
  const text = fs.readFileSync(path.join(packageRoot, 'versions.env'), 'utf8');
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (match) values.set(match[1], match[2]);
  }
  const get = (key: string) => {
    const value = values.get(key);
    if (!value) throw new Error(`versions.env has no ${key}`);
    return value;
  };
  return {
    kubernetes: get('KUBERNETES_VERSION'),
    etcd: get('ETCD_VERSION'),
    helm: get('HELM_VERSION'),
    versitygw: get('VERSITYGW_VERSION'),
    criTools: get('CRI_TOOLS_VERSION'),
  };
}

/** `${FERRY_CACHE:-~/.cache/ferry}/sandbox`, where the build script puts its output. */
export function binaryCacheDir(): string {
  const base = process.env.FERRY_CACHE || path.join(os.homedir(), '.cache', 'ferry');
  return path.join(base, 'sandbox');
}

const envtestBinaries: ReadonlySet<SandboxBinary> = new Set([
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
]);

/**
 * Absolute path of a sandbox binary: `$KUBEBUILDER_ASSETS/<name>` when present (envtest's
 * convention), else the build cache. Throws naming the build script when it is missing.
 */
export function binaryPath(name: SandboxBinary): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && envtestBinaries.has(name)) {
    const candidate = path.join(assets, name);
    if (isExecutable(candidate)) return candidate;
  }
  const versions = sandboxVersions();
  const component: Record<SandboxBinary, string> = {
    etcd: `etcd-${versions.etcd}`,
    'kube-apiserver': `kubernetes-${versions.kubernetes}`,
    'kube-controller-manager': `kubernetes-${versions.kubernetes}`,
    'kube-scheduler': `kubernetes-${versions.kubernetes}`,
    kubectl: `kubernetes-${versions.kubernetes}`,
    helm: `helm-${versions.helm}`,
    versitygw: `versitygw-${versions.versitygw}`,
    kubelet: `kubernetes-${versions.kubernetes}`,
    crictl: `cri-tools-${versions.criTools}`,
  };
  const candidate = path.join(binaryCacheDir(), component[name], 'bin', name);
  if (!isExecutable(candidate)) {
    throw new Error(
      `sandbox binary ${name} not found at ${candidate}: run packages/sandbox/scripts/build-binaries.sh`,
    );
  }
  return candidate;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
