import fs from 'node:fs';
import path from 'node:path';

/** One mounted cgroup hierarchy (v1: one or more controllers, or a named one like name=systemd; v2: the unified one). */
export type CgroupMount = { mountPoint: string; version: 1 | 2; controllers: string[] };

/** The cgroup hierarchies mounted in this mount namespace (from /proc/self/mountinfo). */
export function cgroupMounts(): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const [fsType, , superOptions = ''] = right.split(' ');
    const mountPoint = left.split(' ')[4];
    if (fsType === 'cgroup') {
      const controllers = superOptions.split(',').filter(o => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent'));
      mounts.push({ mountPoint, version: 1, controllers });
    } else if (fsType === 'cgroup2') {
      let controllers: string[] = [];
      try {
        controllers = fs.readFileSync(path.join(mountPoint, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
      } catch {
        // not readable: no controllers
      }
      mounts.push({ mountPoint, version: 2, controllers });
    }
  }
  return mounts;
}

const cgroupPath = (mount: CgroupMount, name: string) => path.join(mount.mountPoint, name.replace(/^\/+/, ''));

/**
 * Creates the cgroup `name` (e.g. `/ferry-node-3-ab12cd`, optionally nested) in every hierarchy.
 * cpuset cgroups get their parent's cpus and mems (a new v1 cpuset is empty and takes no process).
 */
export function createCgroup(name: string): void {
  for (const mount of cgroupMounts()) {
    const relative = name.replace(/^\/+/, '').split('/');
    let current = mount.mountPoint;
    for (const part of relative) {
      const parent = current;
      current = path.join(current, part);
      if (!fs.existsSync(current)) fs.mkdirSync(current);
      if (mount.version === 1 && mount.controllers.includes('cpuset')) {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          if (fs.readFileSync(path.join(current, file), 'utf8').trim() === '') {
            fs.writeFileSync(path.join(current, file), fs.readFileSync(path.join(parent, file), 'utf8'));
          }
        }
      }
    }
  }
}

/** The `cgroup.procs` files of cgroup `name` in every hierarchy (to put a process there). */
export function cgroupProcsFiles(name: string): string[] {
  return cgroupMounts().map(mount => path.join(cgroupPath(mount, name), 'cgroup.procs'));
}

/** Folders of a cgroup tree in one hierarchy, deepest first. */
function treeDeepestFirst(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  const result: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
    }
    result.push(dir);
  };
  walk(root);
  return result;
}

/** Process ids in a cgroup tree, over every hierarchy. */
export function cgroupTreePids(name: string): number[] {
  const pids = new Set<number>();
  for (const mount of cgroupMounts()) {
    for (const dir of treeDeepestFirst(cgroupPath(mount, name))) {
      try {
        for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
          if (pid.trim()) pids.add(Number(pid));
        }
      } catch {
        // removed meanwhile
      }
    }
  }
  return [...pids];
}

/**
 * Kills every process in the cgroup tree `name` (frozen first where the freezer controller is
 * mounted, so nothing forks meanwhile) and removes the tree from every hierarchy. Returns the
 * folders that could not be removed (empty when all is gone).
 */
export async function removeCgroupTree(name: string, timeoutMs = 10_000): Promise<string[]> {
  const freezer = cgroupMounts().find(m => m.version === 1 && m.controllers.includes('freezer'));
  const freezerState = freezer ? path.join(cgroupPath(freezer, name), 'freezer.state') : undefined;
  const setFreezer = (state: 'FROZEN' | 'THAWED') => {
    try {
      if (freezerState && fs.existsSync(freezerState)) fs.writeFileSync(freezerState, state);
    } catch {
      // best effort: the kill below works without it
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = cgroupTreePids(name);
    if (pids.length === 0) break;
    setFreezer('FROZEN');
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    setFreezer('THAWED');
    if (Date.now() > deadline) break;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  const left: string[] = [];
  for (const mount of cgroupMounts()) {
    for (const dir of treeDeepestFirst(cgroupPath(mount, name))) {
      let removed = false;
      for (let attempt = 0; attempt < 20 && !removed; attempt++) {
        try {
          fs.rmdirSync(dir);
          removed = true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') removed = true;
          else await new Promise(resolve => setTimeout(resolve, 50));
        }
      }
      if (!removed) left.push(dir);
    }
  }
  return left;
}
