import { V1Container, V1Pod } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killGroup } from '../managedProcess';
import { expandReferences } from './podEnv';
import { PreparedVolume, VolumeUnsupported } from './podVolumes';

export type ContainerLaunch = {
  pod: V1Pod;
  container: V1Container;
  volumes: Map<string, PreparedVolume>;
  /** The container's own environment (from the pod spec). */
  env: Record<string, string>;
  /** Extra environment (e.g. KUBERNETES_SERVICE_HOST), overridden by the pod's. */
  baseEnv: Record<string, string>;
  /** Prepended to PATH. */
  binDirs: string[];
  /** The image's entrypoint: used when the container has no `command`. */
  entrypoint: string[];
  /** Folder of this container's runtime files (termination log). */
  containerDir: string;
  logFile: string;
};

export type ContainerExit = { exitCode: number; signal: NodeJS.Signals | null };

export type RunningContainer = {
  pid: number;
  startedAt: Date;
  terminationFile: string;
  exited: Promise<ContainerExit>;
  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  kill(graceMs: number): Promise<ContainerExit>;
};

/** `/var/run` is a symlink to `/run` on the host: bind mounts must name the real path. */
function canonicalTarget(target: string): string {
  const normal = path.posix.normalize(target);
  if (!path.posix.isAbsolute(normal)) throw new VolumeUnsupported(`mount path ${target} is not absolute`);
  return normal === '/var/run' || normal.startsWith('/var/run/') ? normal.replace(/^\/var\/run/, '/run') : normal;
}

const hiddenRootEntries = new Set(['proc', 'dev', 'run', 'sys', 'lost+found']);

const privateRoots = ['/dev', '/run', '/proc'];

/**
 * bubblewrap creates a missing mount point in the real folder when that folder is bound from the
 * host (e.g. `/etc/ferry` under `/etc`), which would leave empty folders on the host. For each
 * such target, the deepest existing host folder on its path is replaced by a tmpfs in which each
 * of its entries is bound again, so the mount point is created in the tmpfs instead.
 */
function shadowForMissingTargets(targets: string[]): string[] {
  const ancestors = new Set<string>();
  for (const target of targets) {
    if (privateRoots.some(root => target === root || target.startsWith(`${root}/`))) continue;
    if (fs.existsSync(target)) continue;
    let ancestor = path.posix.dirname(target);
    while (ancestor !== '/' && !fs.existsSync(ancestor)) ancestor = path.posix.dirname(ancestor);
    if (ancestor !== '/') ancestors.add(ancestor);
  }
  const args: string[] = [];
  // Shallow first: a deeper tmpfs stacks on the re-bound entry of a shallower one.
  for (const ancestor of [...ancestors].sort((a, b) => a.split('/').length - b.split('/').length)) {
    args.push('--tmpfs', ancestor);
    for (const entry of fs.readdirSync(ancestor, { withFileTypes: true })) {
      const full = path.posix.join(ancestor, entry.name);
      if (entry.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(full), full);
      else args.push('--bind', full, full);
    }
  }
  return args;
}

/** The bubblewrap arguments that run a container's command with its volumes where the pod spec says. */
export function bubblewrapArgs(launch: ContainerLaunch, terminationFile: string): string[] {
  const { container, volumes, pod } = launch;
  const args = ['--die-with-parent', '--unshare-pid', '--unshare-uts', '--hostname', pod.metadata!.name!.slice(0, 63)];
  for (const entry of fs.readdirSync('/', { withFileTypes: true })) {
    if (hiddenRootEntries.has(entry.name)) continue;
    const full = `/${entry.name}`;
    if (entry.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(full), full);
    else args.push('--bind', full, full);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--ro-bind', '/sys', '/sys', '--tmpfs', '/run');

  type Mount = { target: string; source: string; readOnly: boolean };
  const mounts: Mount[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (!volume) throw new VolumeUnsupported(`volumeMount ${mount.name} names no volume of the pod`);
    let source: string;
    if (volume.kind === 'claim') {
      if (volume.volumeMode === 'Block') {
        throw new VolumeUnsupported(`claim ${volume.claim} is a Block volume: use volumeDevices, not volumeMounts`);
      }
      source = volume.filesDir;
    } else {
      source = volume.path;
    }
    if (mount.subPath) {
      source = path.join(source, mount.subPath);
      fs.mkdirSync(source, { recursive: true });
    }
    mounts.push({ target: canonicalTarget(mount.mountPath), source, readOnly: Boolean(mount.readOnly) });
  }
  for (const device of container.volumeDevices ?? []) {
    const volume = volumes.get(device.name);
    if (volume?.kind !== 'claim') throw new VolumeUnsupported(`volumeDevice ${device.name} must name a claim volume`);
    if (volume.volumeMode !== 'Block') {
      throw new VolumeUnsupported(`claim ${volume.claim} is a Filesystem volume: volumeDevices needs a Block volume`);
    }
    mounts.push({ target: canonicalTarget(device.devicePath), source: volume.imageFile, readOnly: false });
  }
  mounts.push({
    target: canonicalTarget(container.terminationMessagePath || '/dev/termination-log'),
    source: terminationFile,
    readOnly: false,
  });
  mounts.sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  args.push(...shadowForMissingTargets(mounts.map(m => m.target)));
  for (const mount of mounts) args.push(mount.readOnly ? '--ro-bind' : '--bind', mount.source, mount.target);
  args.push('--chdir', container.workingDir || '/');
  return args;
}

/** The command line of a container: command (or the image entrypoint) + args, `$(VAR)` expanded. */
export function containerCommand(launch: ContainerLaunch): string[] {
  const command = launch.container.command ?? launch.entrypoint;
  const argv = [...command, ...(launch.container.args ?? [])].map(part => expandReferences(part, launch.env));
  if (argv.length === 0) throw new VolumeUnsupported(`container ${launch.container.name} has no command`);
  return argv;
}

const signalNumbers = os.constants.signals as Record<string, number>;

/** Starts a container's command under bubblewrap, in its own process group, logging to a file. */
export function startContainer(launch: ContainerLaunch): RunningContainer {
  fs.mkdirSync(launch.containerDir, { recursive: true });
  fs.mkdirSync(path.dirname(launch.logFile), { recursive: true });
  const terminationFile = path.join(launch.containerDir, 'termination-log');
  fs.writeFileSync(terminationFile, '');
  const args = [...bubblewrapArgs(launch, terminationFile), '--', ...containerCommand(launch)];
  const env: NodeJS.ProcessEnv = {
    PATH: [...launch.binDirs, process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(':'),
    HOME: '/root',
    HOSTNAME: launch.pod.metadata!.name,
    ...launch.baseEnv,
    ...launch.env,
  };
  const out = fs.openSync(launch.logFile, 'a');
  const child = spawn('bwrap', args, { env, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  const startedAt = new Date();
  const exited = new Promise<ContainerExit>(resolve => {
    child.once('error', () => resolve({ exitCode: 127, signal: null }));
    child.once('exit', (code, signal) => {
      if (child.pid) killGroup(child.pid, 'SIGKILL');
      resolve({ exitCode: code ?? 128 + (signal ? signalNumbers[signal] ?? 0 : 0), signal });
    });
  });
  return {
    pid: child.pid ?? -1,
    startedAt,
    terminationFile,
    exited,
    async kill(graceMs: number) {
      if (child.pid) killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
