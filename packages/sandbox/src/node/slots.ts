import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { removeSharedLeftovers } from './cleanup';
import { linkExists, PodNetwork, prefixesOverlap, usedIpv4Prefixes, ipv4ToNumber } from './network';

/**
 * Machine-wide allocation of real nodes, so that several sandboxes run side by side: each node
 * gets a slot number under a lock, and with it a bridge, a /24, a cgroup and folders nobody else
 * uses. The record of a slot is written before anything is made, and names everything the node
 * makes (not name patterns), so that what a crashed sandbox left can be removed by whoever comes
 * next (see cleanup.ts).
 */
export type NodeRecord = {
  slot: number;
  /** The Node process that owns the node; the slot is free once it is gone. */
  owner: { pid: number; startTime: string };
  dataDir: string;
  network: PodNetwork;
  /** cgroup (same path in every hierarchy) holding containerd, its shims, the kubelet and its pods. */
  cgroup: string;
  /** Folder of everything on disk (containerd root and state, kubelet root, configuration, pod logs). */
  nodeDir: string;
  createdAt: string;
};

/** Where slot records live (cleared at boot with the devices and cgroups they describe). */
export const nodeRegistryDir = process.env.FERRY_NODE_REGISTRY ?? '/run/ferry-sandbox/nodes';

/** Pod subnets are 10.234.<slot>.0/24 (a range this machine does not route anywhere; checked). */
export const maxSlots = 250;
const subnetFor = (slot: number) => ({ subnet: `10.234.${slot}.0/24`, hostAddress: `10.234.${slot}.1` });

/** Start time of a process (field 22 of /proc/<pid>/stat), to tell a reused pid from the owner. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function ownerAlive(record: NodeRecord): boolean {
  return processStartTime(record.owner.pid) === record.owner.startTime;
}

export function readNodeRecords(): NodeRecord[] {
  if (!fs.existsSync(nodeRegistryDir)) return [];
  const records: NodeRecord[] = [];
  for (const file of fs.readdirSync(nodeRegistryDir)) {
    if (!/^slot-\d+\.json$/.test(file)) continue;
    try {
      records.push(JSON.parse(fs.readFileSync(path.join(nodeRegistryDir, file), 'utf8')) as NodeRecord);
    } catch {
      // a half-written record cannot exist (written by rename); ignore foreign files
    }
  }
  return records;
}

const recordFile = (slot: number) => path.join(nodeRegistryDir, `slot-${slot}.json`);

/** Runs `fn` holding the registry's lock (proper-lockfile: a lock folder, stale after 10 s without update). */
export async function withRegistryLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(nodeRegistryDir, { recursive: true, mode: 0o700 });
  const release = await lockfile.lock(nodeRegistryDir, {
    lockfilePath: `${nodeRegistryDir}.lock`,
    stale: 10_000,
    update: 2_000,
    retries: { retries: 100, minTimeout: 50, maxTimeout: 500 },
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

export type AllocateNodeOptions = {
  dataDir: string;
  /** Removes what a dead owner's node left (cleanup.ts); called under the lock. */
  reap: (record: NodeRecord) => Promise<void>;
  log: (message: string) => void;
};

/**
 * Reaps the nodes of dead owners, then takes the lowest free slot whose subnet overlaps nothing
 * on this machine and whose bridge name is unused, and writes its record.
 */
export async function allocateNode(options: AllocateNodeOptions): Promise<NodeRecord> {
  return withRegistryLock(async () => {
    await reapDeadNodesLocked(options.reap, options.log);
    const taken = new Set(readNodeRecords().map(r => r.slot));
    const used = usedIpv4Prefixes();
    const startTime = processStartTime(process.pid);
    if (!startTime) throw new Error('cannot read this process start time from /proc');
    for (let slot = 0; slot < maxSlots; slot++) {
      if (taken.has(slot)) continue;
      const { subnet, hostAddress } = subnetFor(slot);
      const bridge = `ferrybr${slot}`;
      if (used.some(prefix => prefixesOverlap(prefix, [ipv4ToNumber(hostAddress), 24])) || linkExists(bridge)) continue;
      const id = crypto.randomBytes(3).toString('hex');
      const record: NodeRecord = {
        slot,
        owner: { pid: process.pid, startTime },
        dataDir: options.dataDir,
        network: { bridge, subnet, hostAddress, networkName: `ferry-sandbox-${slot}-${id}` },
        cgroup: `/ferry-node-${slot}-${id}`,
        nodeDir: path.join(options.dataDir, 'node'),
        createdAt: new Date().toISOString(),
      };
      const file = recordFile(slot);
      fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
      fs.renameSync(`${file}.tmp`, file);
      return record;
    }
    throw new Error(`no free node slot: ${taken.size} real-node sandboxes run on this machine (at most ${maxSlots}), or 10.234.0.0/16 is in use`);
  });
}

async function reapDeadNodesLocked(reap: (record: NodeRecord) => Promise<void>, log: (message: string) => void) {
  for (const record of readNodeRecords()) {
    if (ownerAlive(record)) continue;
    log(`Removing what the dead sandbox in ${record.dataDir} left (node slot ${record.slot}, process ${record.owner.pid})`);
    await reap(record);
    fs.rmSync(recordFile(record.slot), { force: true });
  }
  if (readNodeRecords().length === 0) removeSharedLeftovers();
}

/** Reaps nodes whose owner process is gone (e.g. `npm run sandbox -- stop` after a crash). */
export async function reapDeadNodes(reap: (record: NodeRecord) => Promise<void>, log: (message: string) => void = () => undefined) {
  if (!fs.existsSync(nodeRegistryDir)) return;
  await withRegistryLock(() => reapDeadNodesLocked(reap, log));
}

/** Frees a slot after its node was cleaned up by its owner. */
export async function releaseNode(record: NodeRecord): Promise<void> {
  await withRegistryLock(async () => {
    fs.rmSync(recordFile(record.slot), { force: true });
    if (readNodeRecords().length === 0) removeSharedLeftovers();
  });
}
