import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ManagedProcess } from '../managedProcess';
import { cniBinDir } from './hostCheck';
import { startInCgroup, waitWhileRunning } from './nodeProcess';
import { NodePaths } from './paths';

export type ContainerdOptions = {
  paths: NodePaths;
  cgroup: string;
  /** Image of the pods' sandbox (pause) containers, pulled from the sandbox registry. */
  sandboxImage: string;
  /** `host:port` of registries served over plain HTTP (the sandbox's own). */
  plainHttpRegistries: string[];
  /** Credentials containerd itself uses (for the pause image) when the sandbox registry needs them. */
  registryAuth?: { host: string; username: string; password: string };
  pidDir: string;
  log: (message: string) => void;
};

const toml = (value: string) => JSON.stringify(value);

/**
 * containerd 1.6's configuration (version 2) for one node: own root, state, socket and runc root;
 * CRI with the runc v2 shim and cgroupfs, `restrict_oom_score_adj` (root here lacks
 * CAP_SYS_RESOURCE, so a negative oom_score_adj fails), network namespaces pinned under the state
 * folder, CNI from our conflist, registry hosts from `certs.d`. Plugins that would write outside
 * (opt) or are not used are disabled.
 */
export function containerdConfig(options: ContainerdOptions): string {
  const { paths } = options;
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = ${toml(paths.containerdRoot)}`,
    `state = ${toml(paths.containerdState)}`,
    'oom_score = 0',
    'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    '',
    '[grpc]',
    `  address = ${toml(paths.containerdSocket)}`,
    '[ttrpc]',
    `  address = ${toml(`${paths.containerdSocket}.ttrpc`)}`,
    '[debug]',
    '  level = "info"',
    '',
    `[${cri}]`,
    `  sandbox_image = ${toml(options.sandboxImage)}`,
    '  restrict_oom_score_adj = true',
    '  netns_mounts_under_state_dir = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_tls_streaming = false',
    '  max_container_log_line_size = 16384',
    '  tolerate_missing_hugetlb_controller = true',
    '  disable_hugetlb_controller = true',
    `[${cri}.containerd]`,
    '  default_runtime_name = "runc"',
    '  snapshotter = "overlayfs"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  Root = ${toml(path.join(paths.containerdState, 'runc'))}`,
    `[${cri}.cni]`,
    `  bin_dir = ${toml(cniBinDir)}`,
    `  conf_dir = ${toml(paths.cniConf)}`,
    '  max_conf_num = 1',
    `[${cri}.registry]`,
    `  config_path = ${toml(paths.registryHosts)}`,
    ...(options.registryAuth
      ? [
          `[${cri}.registry.configs.${toml(options.registryAuth.host)}.auth]`,
          `  username = ${toml(options.registryAuth.username)}`,
          `  password = ${toml(options.registryAuth.password)}`,
        ]
      : []),
    '',
  ].join('\n');
}

/** `certs.d/<host:port>/hosts.toml` for each plain-HTTP registry (written at every start: ports change). */
export function writeRegistryHosts(dir: string, hosts: string[]): void {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const host of hosts) {
    fs.mkdirSync(path.join(dir, host), { recursive: true });
    fs.writeFileSync(
      path.join(dir, host, 'hosts.toml'),
      [`server = ${toml(`http://${host}`)}`, '', `[host.${toml(`http://${host}`)}]`, '  capabilities = ["pull", "resolve"]', ''].join('\n'),
    );
  }
}

/** True when something accepts connections on a unix socket. */
export function socketAnswers(file: string): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(file);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Writes the configuration and starts containerd in the node's cgroup; resolves once its socket answers. */
export async function startContainerd(options: ContainerdOptions): Promise<ManagedProcess> {
  const { paths } = options;
  for (const dir of [paths.config, paths.containerdRoot, paths.containerdState, paths.logs]) fs.mkdirSync(dir, { recursive: true });
  writeRegistryHosts(paths.registryHosts, options.plainHttpRegistries);
  const configFile = path.join(paths.config, 'containerd.toml');
  fs.writeFileSync(configFile, containerdConfig(options));
  options.log(`Starting containerd (${paths.containerdSocket})`);
  const child = startInCgroup({
    name: 'containerd',
    cgroup: `${options.cgroup}/node`,
    command: 'containerd',
    args: ['--config', configFile],
    logFile: path.join(paths.logs, 'containerd.log'),
    pidDir: options.pidDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  try {
    await waitWhileRunning([child], async () => fs.existsSync(paths.containerdSocket) && (await socketAnswers(paths.containerdSocket)), {
      description: `containerd to answer on ${paths.containerdSocket}`,
      timeoutMs: 30_000,
    });
  } catch (error) {
    await child.stop(2000);
    throw error;
  }
  return child;
}
