import fs from 'node:fs';
import { isExecutableCommand } from '../managedProcess';
import { CgroupMount, cgroupMounts } from './cgroups';

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
  // The CSI driver's volumes (src/csi/): loop devices, ext4, mounts, point-in-time copies.
  { command: 'losetup', from: 'Debian package mount' },
  { command: 'mount', from: 'Debian package mount' },
  { command: 'umount', from: 'Debian package mount' },
  { command: 'blkid', from: 'Debian package util-linux' },
  { command: 'blockdev', from: 'Debian package util-linux' },
  { command: 'fsfreeze', from: 'Debian package util-linux' },
  { command: 'mkfs.ext4', from: 'Debian package e2fsprogs' },
  { command: 'e2fsck', from: 'Debian package e2fsprogs' },
  { command: 'resize2fs', from: 'Debian package e2fsprogs' },
  { command: 'dumpe2fs', from: 'Debian package e2fsprogs' },
  { command: 'perl', from: 'Debian package perl-base' },
  { command: 'cp', from: 'Debian package coreutils' },
];

/** cgroup v1 controllers the kubelet and runc need (cgroupfs driver). */
const requiredControllers = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer'];

/** What the check looks at (the machine by default; tests give their own). */
export type HostView = {
  uid: number | undefined;
  isExecutable(command: string): boolean;
  exists(file: string): boolean;
  cgroupMounts: CgroupMount[];
};

const machine = (): HostView => ({
  uid: process.getuid?.(),
  isExecutable: isExecutableCommand,
  exists: fs.existsSync,
  cgroupMounts: cgroupMounts(),
});

/** Everything a real node needs and does not find, one sentence each (empty when all is there). */
export function realNodeHostProblems(host: HostView = machine()): string[] {
  const problems: string[] = [];
  if (host.uid !== 0) problems.push('the real node must run as root (containerd, runc, network devices, mounts, loop devices)');
  for (const tool of tools) {
    if (!host.isExecutable(tool.command)) problems.push(`${tool.command} is missing (${tool.from}; see scripts/apt-packages.txt)`);
  }
  const mounts = host.cgroupMounts;
  const v2Only = mounts.length === 1 && mounts[0].version === 2;
  if (!v2Only) {
    const present = new Set(mounts.flatMap(m => m.controllers));
    const missing = requiredControllers.filter(c => !present.has(c));
    if (missing.length) problems.push(`cgroup controller(s) ${missing.join(', ')} not mounted under /sys/fs/cgroup`);
  } else if (!host.exists(`${mounts[0].mountPoint}/cgroup.controllers`)) {
    problems.push(`${mounts[0].mountPoint} is not a usable cgroup v2 hierarchy`);
  }
  if (!host.exists('/proc/sys/net/ipv4')) problems.push('no IPv4 networking in this kernel (/proc/sys/net/ipv4 missing)');
  // Volumes are files on loop devices: the kernel must have them (module loop, /dev/loop-control).
  if (!host.exists('/dev/loop-control') && !host.exists('/sys/module/loop')) {
    problems.push('this kernel has no loop devices (no /dev/loop-control, no /sys/module/loop): the CSI driver keeps volumes on them');
  }
  return problems;
}

/**
 * Checks what a real node needs on this machine and throws one error naming everything missing
 * (root, tools and where they come from, cgroup controllers, loop devices).
 */
export function checkRealNodeHost(host?: HostView): void {
  const problems = realNodeHostProblems(host);
  if (problems.length) throw new Error(`cannot start a real node here: ${problems.join('; ')}`);
}
