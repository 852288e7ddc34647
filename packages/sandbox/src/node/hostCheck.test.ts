import { checkRealNodeHost, HostView, realNodeHostProblems } from './hostCheck';

const v1 = [
  { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', version: 1 as const, controllers: ['cpu', 'cpuacct'] },
  { mountPoint: '/sys/fs/cgroup/cpuset', version: 1 as const, controllers: ['cpuset'] },
  { mountPoint: '/sys/fs/cgroup/memory', version: 1 as const, controllers: ['memory'] },
  { mountPoint: '/sys/fs/cgroup/pids', version: 1 as const, controllers: ['pids'] },
  { mountPoint: '/sys/fs/cgroup/devices', version: 1 as const, controllers: ['devices'] },
  { mountPoint: '/sys/fs/cgroup/freezer', version: 1 as const, controllers: ['freezer'] },
];

/** A machine with everything, then with what `change` takes away. */
function host(change: Partial<HostView> & { missing?: string[]; absent?: string[] } = {}): HostView {
  return {
    uid: 0,
    cgroupMounts: v1,
    isExecutable: command => !(change.missing ?? []).includes(command),
    exists: file => !(change.absent ?? []).includes(file),
    ...change,
  };
}

describe('the real node host check', () => {
  it('finds nothing missing on a complete machine', () => {
    expect(realNodeHostProblems(host())).toEqual([]);
    expect(() => checkRealNodeHost(host())).not.toThrow();
  });

  it('names every missing tool with the Debian package it comes from, and root', () => {
    expect(realNodeHostProblems(host({ uid: 1000, missing: ['containerd', 'mkfs.ext4', 'losetup'] }))).toEqual([
      'the real node must run as root (containerd, runc, network devices, mounts, loop devices)',
      'containerd is missing (Debian package containerd; see scripts/apt-packages.txt)',
      'losetup is missing (Debian package mount; see scripts/apt-packages.txt)',
      'mkfs.ext4 is missing (Debian package e2fsprogs; see scripts/apt-packages.txt)',
    ]);
  });

  it('refuses a kernel without loop devices in one error with the other problems', () => {
    const noLoop = host({ absent: ['/dev/loop-control', '/sys/module/loop'], cgroupMounts: v1.filter(m => m.controllers[0] !== 'freezer') });
    expect(() => checkRealNodeHost(noLoop)).toThrow(
      'cannot start a real node here: cgroup controller(s) freezer not mounted under /sys/fs/cgroup; ' +
        'this kernel has no loop devices (no /dev/loop-control, no /sys/module/loop): the CSI driver keeps volumes on them',
    );
    // A loop module without the control device still has loop0-7.
    expect(realNodeHostProblems(host({ absent: ['/dev/loop-control'] }))).toEqual([]);
  });

  it('finds this machine fit (tests run as root, as CI does)', () => {
    expect(realNodeHostProblems()).toEqual([]);
  });
});
