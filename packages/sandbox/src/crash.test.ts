import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from './binaries';
import { listLoopDevices } from './csi/loopDevices';
import { readMountTable } from './csi/mountTable';
import { cgroupTreePids } from './node/cgroups';
import { linkExists } from './node/network';
import { readNodeRecords } from './node/slots';
import { startSandbox } from './sandbox';
import { waitFor } from './waitFor';

// A sandbox whose Node process is killed with SIGKILL while a pod runs on its claims leaves
// nothing: its watchdog reaps it at once; and when the watchdog is killed too, the next start in
// the same data folder does. Real node, real components; needs root (as CI runs).

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-sandbox-crash-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  // A child left running by a failed test: its watchdog reaps it (by the records in dataDir,
  // so the folder goes only after that).
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await waitFor(() => !readNodeRecords().some(r => r.dataDir === dataDir), {
    description: `the node of ${dataDir} to be reaped`,
    timeoutMs: 90_000,
  }).catch(() => undefined);
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

/** What a running sandbox holds on this machine, found from outside it. */
type Held = {
  pids: number[];
  mounts: string[];
  loops: string[];
  bridge: string;
  cgroup: string;
  watchdog: number;
};

/** Starts src/testing/sandboxChild.ts in `dataDir` and waits until its pod runs on its claims. */
async function startChild(): Promise<{ child: ChildProcess; held: Held }> {
  const child = spawn(
    process.execPath,
    ['--require', require.resolve('@backstage/cli/config/nodeTransform.cjs'), path.join(packageRoot, 'src', 'testing', 'sandboxChild.ts'), dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let output = '';
  child.stderr!.on('data', chunk => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', chunk => {
      output += chunk.toString();
      if (output.includes('{"ready":true}')) resolve();
    });
    child.once('exit', code => reject(new Error(`the sandbox child exited with ${code}: ${output.slice(-2000)}`)));
  });
  const record = readNodeRecords().find(r => r.dataDir === dataDir)!;
  const runDir = path.join(dataDir, 'run');
  const pidFiles = fs.readdirSync(runDir).filter(f => f.endsWith('.pid'));
  const watchdog = fs
    .readdirSync('/proc')
    .filter(entry => /^\d+$/.test(entry))
    .map(Number)
    .find(pid => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parent === child.pid && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('watchdog.cjs');
      } catch {
        return false;
      }
    })!;
  const held: Held = {
    pids: [...pidFiles.map(f => Number(fs.readFileSync(path.join(runDir, f), 'utf8'))), ...cgroupTreePids(record.cgroup)],
    mounts: readMountTable().map(m => m.mountPoint).filter(m => m.startsWith(dataDir)),
    loops: listLoopDevices().filter(l => l.backingFile?.startsWith(dataDir)).map(l => l.device),
    bridge: record.network.bridge,
    cgroup: record.cgroup,
    watchdog,
  };
  expect(watchdog).toBeGreaterThan(1);
  expect(held.pids.length).toBeGreaterThanOrEqual(10); // control plane, S3, registry, containerd, kubelet, shims, containers
  expect(held.mounts.some(m => m.endsWith('/mount'))).toBe(true); // the claim published into the pod
  // The driver's two volumes, and the kubelet's lock on the Block volume it mapped into the pod.
  expect(listLoopDevices().filter(l => held.loops.includes(l.device)).map(l => path.relative(dataDir, l.backingFile!).split('/').slice(0, 2).join('/')).sort()).toEqual([
    'csi/storage',
    'csi/storage',
    'node/kubelet',
  ]);
  expect(linkExists(held.bridge)).toBe(true);
  return { child, held };
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`);

/** Nothing of `held` is left on this machine. */
function leftOver(held: Held) {
  const current = new Set(readMountTable().map(m => m.mountPoint));
  // Still attached to its file, or to a device node whose mount is gone (backing file `/`).
  const loops = listLoopDevices()
    .filter(l => held.loops.includes(l.device) && l.backingFile !== undefined)
    .filter(l => l.backingFile!.startsWith(dataDir) || l.backingFile === '/')
    .map(l => `${l.device} ${l.backingFile}`);
  return {
    pids: held.pids.filter(alive),
    mounts: held.mounts.filter(m => current.has(m)),
    loops,
    bridge: linkExists(held.bridge),
    cgroup: cgroupTreePids(held.cgroup),
  };
}
const nothing = { pids: [], mounts: [], loops: [], bridge: false, cgroup: [] };

describe('a sandbox process killed with SIGKILL', () => {
  it('is reaped by its watchdog: no process, mount, loop device, bridge or cgroup left', async () => {
    const { child, held } = await startChild();
    child.kill('SIGKILL');
    await waitFor(() => !alive(held.watchdog), { description: 'the watchdog to finish', timeoutMs: 90_000, intervalMs: 250 });
    expect(leftOver(held)).toEqual(nothing);
    expect(readNodeRecords().some(r => r.dataDir === dataDir)).toBe(false);
  }, 300_000);

  it('with its watchdog killed too, is reaped by the next start in the same data folder', async () => {
    const { child, held } = await startChild();
    process.kill(held.watchdog, 'SIGKILL');
    child.kill('SIGKILL');
    await waitFor(() => !alive(child.pid!) && !alive(held.watchdog), { description: 'the child and its watchdog to die' });
    // Nobody cleaned up: the control plane, the node and the claims' devices are still there.
    expect(leftOver(held).loops).toHaveLength(3);
    expect(leftOver(held).bridge).toBe(true);
    expect(leftOver(held).pids.length).toBeGreaterThan(0);

    const next = await startSandbox({ dataDir, s3: false });
    try {
      const left = leftOver(held);
      // The new node may take the same slot, bridge and cgroup names, and its kubelet mounts some
      // of the same paths: here only the old processes, devices and pod mounts count (after its
      // stop below, nothing at all may be left).
      const podMounts = left.mounts.filter(m => /\/pods\/|netns|globalmount|\/io\.containerd\./.test(m));
      expect({ pids: left.pids, mounts: podMounts, loops: left.loops }).toEqual({ pids: [], mounts: [], loops: [] });
    } finally {
      await next.stop();
    }
    expect(leftOver(held)).toEqual(nothing);
  }, 300_000);
});
