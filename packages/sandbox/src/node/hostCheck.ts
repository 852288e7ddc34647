import fs from 'node:fs';
import { isExecutableCommand } from '../managedProcess';
import { cgroupMounts } from './cgroups';

/** Where Debian's containernetworking-plugins package puts the CNI plugins. */
export const cniBinDir = '/usr/lib/cni';

const tools: Array<{ command: string; from: string }> = [
  { command: 'containerd', from: 'Debian package containerd' },
  { command: 'containerd-shim-runc-v2', from: 'Debian package containerd' },
  { command: 'runc', from: 'Debian package runc' },
  { command: 'ip', from: 'Debian package iproute2' },
  { command: 'tar', from: 'Debian package tar' },
  { command: 'gzip', from: 'Debian package gzip' },
  { command: `${cniBinDir}/bridge`, from: 'Debian package containernetworking-plugins' },
  { command: `${cniBinDir}/host-local`, from: 'Debian package containernetworking-plugins' },
  { command: `${cniBinDir}/loopback`, from: 'Debian package containernetworking-plugins' },
];

/** cgroup v1 controllers the kubelet and runc need (cgroupfs driver). */
const requiredControllers = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer'];

/**
 * Checks what a real node needs on this machine and throws one error naming everything missing
 * (root, tools and where they come from, cgroup controllers).
 */
export function checkRealNodeHost(): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('the real node must run as root (containerd, runc, network devices, mounts)');
  for (const tool of tools) {
    if (!isExecutableCommand(tool.command)) problems.push(`${tool.command} is missing (${tool.from}; see scripts/apt-packages.txt)`);
  }
  const mounts = cgroupMounts();
  const v2Only = mounts.length === 1 && mounts[0].version === 2;
  if (!v2Only) {
    const present = new Set(mounts.flatMap(m => m.controllers));
    const missing = requiredControllers.filter(c => !present.has(c));
    if (missing.length) problems.push(`cgroup controller(s) ${missing.join(', ')} not mounted under /sys/fs/cgroup`);
  } else if (!fs.existsSync(`${mounts[0].mountPoint}/cgroup.controllers`)) {
    problems.push(`${mounts[0].mountPoint} is not a usable cgroup v2 hierarchy`);
  }
  if (!fs.existsSync('/proc/sys/net/ipv4')) problems.push('no IPv4 networking in this kernel (/proc/sys/net/ipv4 missing)');
  if (problems.length) throw new Error(`cannot start a real node here: ${problems.join('; ')}`);
}
