import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The node's pod network: a Linux bridge with the host's address on a /24 that exists only on
 * this machine, and a CNI conflist (Debian's bridge + host-local plugins) putting each pod on
 * it. No gateway route, no masquerade, no forwarding: pods reach the host's bridge address (and
 * each other), nothing else. See the README ("The real node").
 */
export type PodNetwork = {
  /** Bridge device name, e.g. `ferrybr3`. */
  bridge: string;
  /** e.g. `10.234.3.0/24`. */
  subnet: string;
  /** The bridge's address on the host, e.g. `10.234.3.1`: what pods use to reach the host. */
  hostAddress: string;
  /** CNI network name (unique per start: also names host-local's and libcni's state). */
  networkName: string;
};

const ip = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** True when a network device of that name exists. */
export function linkExists(name: string): boolean {
  try {
    ip(['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/** IPv4 prefixes in use on this machine (addresses and routes), as [network, prefix length]. */
export function usedIpv4Prefixes(): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  const addresses = JSON.parse(ip(['-j', '-4', 'addr', 'show'])) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  for (const link of addresses) for (const a of link.addr_info ?? []) result.push([ipv4ToNumber(a.local), a.prefixlen]);
  const routes = JSON.parse(ip(['-j', '-4', 'route', 'show', 'table', 'all'])) as Array<{ dst: string }>;
  for (const route of routes) {
    if (!route.dst || route.dst === 'default') continue;
    const [address, length] = route.dst.split('/');
    if (/^\d+\.\d+\.\d+\.\d+$/.test(address)) result.push([ipv4ToNumber(address), Number(length ?? 32)]);
  }
  return result;
}

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

const mask = (length: number) => (length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0);

/** True when two IPv4 prefixes share an address. */
export function prefixesOverlap(a: [number, number], b: [number, number]): boolean {
  const length = Math.min(a[1], b[1]);
  return ((a[0] & mask(length)) >>> 0) === ((b[0] & mask(length)) >>> 0);
}

/** Creates the bridge with the host address (before anything listens on that address). */
export function createBridge(network: PodNetwork): void {
  if (linkExists(network.bridge)) throw new Error(`network device ${network.bridge} already exists`);
  const prefix = network.subnet.split('/')[1];
  ip(['link', 'add', 'name', network.bridge, 'type', 'bridge']);
  try {
    // No IPv6 on the bridge: pods only talk IPv4 to the host address.
    const ipv6 = `/proc/sys/net/ipv6/conf/${network.bridge}/disable_ipv6`;
    if (fs.existsSync(ipv6)) fs.writeFileSync(ipv6, '1');
    ip(['addr', 'add', `${network.hostAddress}/${prefix}`, 'dev', network.bridge]);
    ip(['link', 'set', 'dev', network.bridge, 'up']);
  } catch (error) {
    deleteBridge(network.bridge);
    throw new Error(`could not set up bridge ${network.bridge} (${network.subnet}): ${(error as Error).message}`);
  }
}

/** Deletes a bridge (its veth ports go with their pods' network namespaces). No error when absent. */
export function deleteBridge(name: string): void {
  if (!linkExists(name)) return;
  ip(['link', 'delete', 'dev', name]);
}

/**
 * Writes the CNI conflist for containerd: bridge (no gateway role, so no default route and no
 * ip_forward; no masquerade) with host-local addresses from the subnet, state in `ipamDir`.
 */
export function writeCniConfig(options: { confDir: string; ipamDir: string; network: PodNetwork }): string {
  const { network } = options;
  fs.mkdirSync(options.confDir, { recursive: true });
  const config = {
    cniVersion: '0.4.0',
    name: network.networkName,
    plugins: [
      {
        type: 'bridge',
        bridge: network.bridge,
        isGateway: false,
        isDefaultGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: network.subnet, gateway: network.hostAddress }]],
          dataDir: options.ipamDir,
        },
      },
    ],
  };
  const file = path.join(options.confDir, '10-ferry-sandbox.conflist');
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}
