import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { removeCgroupTree } from './cgroups';
import { deleteBridge } from './network';
import type { NodeRecord } from './slots';
import { nodePaths } from './paths';

/** libcni's cache (containerd 1.6 cannot move it): files `<network name>-<container id>-<interface>`. */
const cniCacheDir = '/var/lib/cni/results';
/** The kubelet links every container's log here (a fixed path in the kubelet). */
const containerLogLinks = '/var/log/containers';

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo, octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const prefix = path.resolve(dir);
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter(point => point === prefix || point.startsWith(`${prefix}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function unmount(point: string): void {
  try {
    execFileSync('umount', [point], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['--lazy', point], { stdio: 'ignore' });
  }
}

/** Kills the containerd shims named by the bundle folders in containerd's state, and removes their sockets. */
function removeShims(containerdState: string): void {
  const tasks = path.join(containerdState, 'io.containerd.runtime.v2.task');
  if (!fs.existsSync(tasks)) return;
  for (const namespace of fs.readdirSync(tasks)) {
    const nsDir = path.join(tasks, namespace);
    if (!fs.statSync(nsDir).isDirectory()) continue;
    for (const id of fs.readdirSync(nsDir)) {
      const bundle = path.join(nsDir, id);
      for (const pidFile of ['shim.pid', 'init.pid']) {
        try {
          const pid = Number(fs.readFileSync(path.join(bundle, pidFile), 'utf8').trim());
          if (pid > 1) process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      try {
        const address = fs.readFileSync(path.join(bundle, 'address'), 'utf8').trim();
        const socket = address.replace(/^unix:\/\//, '');
        if (socket.startsWith('/')) fs.rmSync(socket, { force: true });
      } catch {
        // no address file
      }
    }
  }
}

/** Ids of the pod sandboxes containerd made (its CRI state folder has one folder per sandbox). */
function podSandboxIds(containerdState: string): string[] {
  const dir = path.join(containerdState, 'io.containerd.grpc.v1.cri', 'sandboxes');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/**
 * Fixed paths the kubelet and containerd use whatever their configuration (the kubelet's
 * device-plugin socket and checkpoint, its container log links folder, containerd's shim socket
 * folder): shared by every node on the machine, so they are removed only by the last node to go,
 * and folders only when empty (a kubelet of the machine itself would keep them).
 */
export function removeSharedLeftovers(): void {
  const devicePlugins = '/var/lib/kubelet/device-plugins';
  for (const file of ['kubelet.sock', 'kubelet_internal_checkpoint']) fs.rmSync(path.join(devicePlugins, file), { force: true });
  for (const dir of [devicePlugins, '/var/lib/kubelet', containerLogLinks, '/run/containerd/s', '/run/containerd', cniCacheDir, '/var/lib/cni']) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty, or absent
    }
  }
}

/**
 * Removes everything a real node made, by its record: every process in its cgroup tree
 * (kubelet, containerd, shims, containers), its shims' sockets, every mount under its folder
 * (container root file systems, shm, network-namespace pins, volume mounts), the bridge (the
 * pods' veths went with their namespaces), the cgroup tree, libcni's cache entries of its network,
 * the kubelet's log links into its folder, and the folder. Errors are collected, not thrown midway.
 */
export async function cleanupNode(record: NodeRecord): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, fn: () => unknown) => {
    try {
      await fn();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
    }
  };
  const paths = nodePaths(record.nodeDir);
  await step('kill the shims', () => removeShims(paths.containerdState));
  // Processes first (nothing holds mounts or re-creates them), cgroup folders after the unmounts.
  let left: string[] = [];
  await step('kill the node processes', async () => {
    left = await removeCgroupTree(record.cgroup);
  });
  await step('unmount', () => {
    for (const point of mountsUnder(record.nodeDir)) unmount(point);
    const still = mountsUnder(record.nodeDir);
    if (still.length) throw new Error(`still mounted: ${still.join(', ')}`);
  });
  await step(`delete bridge ${record.network.bridge}`, () => deleteBridge(record.network.bridge));
  if (left.length) {
    await step('remove the cgroups', async () => {
      const still = await removeCgroupTree(record.cgroup);
      if (still.length) throw new Error(`could not remove ${still.join(', ')}`);
    });
  }
  await step('remove libcni cache entries', () => {
    if (!fs.existsSync(cniCacheDir)) return;
    // Our network's entries by its (unique) name; the loopback network's by our pod sandboxes' ids.
    const loopback = new Set(podSandboxIds(paths.containerdState).map(id => `cni-loopback-${id}-lo`));
    for (const file of fs.readdirSync(cniCacheDir)) {
      if (file.startsWith(`${record.network.networkName}-`) || loopback.has(file)) fs.rmSync(path.join(cniCacheDir, file), { force: true });
    }
  });
  await step('remove container log links', () => {
    if (!fs.existsSync(containerLogLinks)) return;
    for (const file of fs.readdirSync(containerLogLinks)) {
      const link = path.join(containerLogLinks, file);
      try {
        if (fs.readlinkSync(link).startsWith(`${paths.podLogs}/`)) fs.rmSync(link, { force: true });
      } catch {
        // not a link
      }
    }
  });
  await step(`remove ${record.nodeDir}`, () => {
    if (mountsUnder(record.nodeDir).length === 0) fs.rmSync(record.nodeDir, { recursive: true, force: true });
  });
  return problems;
}
