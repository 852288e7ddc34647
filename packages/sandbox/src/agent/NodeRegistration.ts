import {
  CoordinationV1Api,
  CoreV1Api,
  StorageV1Api,
  V1MicroTime,
  V1Node,
  V1NodeCondition,
} from '@kubernetes/client-node';
import crypto from 'node:crypto';
import os from 'node:os';
import { getOrUndefined, isConflict, updateWithRetry } from './kube';

export type NodeRegistrationOptions = {
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  storage: StorageV1Api;
  /** CSI driver announced in the node's CSINode object. */
  driverName: string;
  nodeName: string;
  kubeletPort: number;
  kubeletVersion: string;
  /** Nominal capacity reported to the scheduler (the sandbox does not enforce it). */
  capacity: Record<string, string>;
  log: (message: string) => void;
};

const leaseNamespace = 'kube-node-lease';

/**
 * Registers the sandbox's single Node, keeps it Ready (status heartbeat every 20 s) and renews
 * its Lease in kube-node-lease every 10 s, as the kubelet does.
 */
export class NodeRegistration {
  private timers: NodeJS.Timeout[] = [];
  private readonly bootId = crypto.randomUUID();

  constructor(private readonly options: NodeRegistrationOptions) {}

  async start(): Promise<void> {
    const { core, nodeName } = this.options;
    const existing = await getOrUndefined(() => core.readNode({ name: nodeName }));
    if (!existing) {
      const body: V1Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: nodeName,
          labels: {
            'kubernetes.io/hostname': nodeName,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': os.arch() === 'x64' ? 'amd64' : os.arch(),
            'beta.kubernetes.io/os': 'linux',
            'beta.kubernetes.io/arch': os.arch() === 'x64' ? 'amd64' : os.arch(),
            'node.ferry.io/sandbox': 'true',
          },
        },
        spec: {},
      };
      await core.createNode({ body });
      this.options.log(`Registered node ${nodeName}`);
    }
    await this.heartbeat();
    await this.renewLease();
    await this.registerCsiNode();
    this.timers.push(setInterval(() => this.heartbeat().catch(e => this.warn('status', e)), 20_000));
    this.timers.push(setInterval(() => this.renewLease().catch(e => this.warn('lease', e)), 10_000));
  }

  /** The CSINode object the kubelet's plugin manager would create for our driver. */
  private async registerCsiNode() {
    const { core, storage, nodeName, driverName } = this.options;
    if (await getOrUndefined(() => storage.readCSINode({ name: nodeName }))) return;
    const node = await core.readNode({ name: nodeName });
    try {
      await storage.createCSINode({
        body: {
          metadata: {
            name: nodeName,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata!.uid! }],
          },
          spec: { drivers: [{ name: driverName, nodeID: nodeName, topologyKeys: [] }] },
        },
      });
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private warn(what: string, error: unknown) {
    this.options.log(`Node ${what} update failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  private conditions(now: Date): V1NodeCondition[] {
    const condition = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    return [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'sandbox node agent has sufficient memory'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'sandbox node agent has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'sandbox node agent has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'ferry sandbox node agent is posting ready status'),
    ];
  }

  private async heartbeat() {
    const { core, nodeName, capacity } = this.options;
    const now = new Date();
    await updateWithRetry({
      read: () => core.readNodeStatus({ name: nodeName }),
      mutate: node => {
        const previous = new Map((node.status?.conditions ?? []).map(c => [c.type, c]));
        const conditions = this.conditions(now).map(c => {
          const old = previous.get(c.type);
          return old && old.status === c.status ? { ...c, lastTransitionTime: old.lastTransitionTime } : c;
        });
        node.status = {
          ...node.status,
          capacity,
          allocatable: capacity,
          conditions,
          addresses: [
            { type: 'InternalIP', address: '127.0.0.1' },
            { type: 'Hostname', address: nodeName },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: this.options.kubeletPort } },
          nodeInfo: {
            architecture: os.arch() === 'x64' ? 'amd64' : os.arch(),
            bootID: this.bootId,
            containerRuntimeVersion: 'ferry-sandbox://0.1.0',
            kernelVersion: os.release(),
            kubeProxyVersion: '',
            kubeletVersion: this.options.kubeletVersion,
            machineID: nodeName,
            operatingSystem: 'linux',
            osImage: 'Ferry sandbox node agent',
            systemUUID: nodeName,
          },
        };
      },
      write: node => core.replaceNodeStatus({ name: nodeName, body: node }),
    });
  }

  private async renewLease() {
    const { coordination, nodeName } = this.options;
    const now = new Date();
    const lease = await getOrUndefined(() => coordination.readNamespacedLease({ name: nodeName, namespace: leaseNamespace }));
    if (!lease) {
      const node = await this.options.core.readNode({ name: nodeName });
      try {
        await coordination.createNamespacedLease({
          namespace: leaseNamespace,
          body: {
            metadata: {
              name: nodeName,
              namespace: leaseNamespace,
              ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata!.uid! }],
            },
            spec: { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: new V1MicroTime(now.getTime()) },
          },
        });
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      return;
    }
    lease.spec = { ...lease.spec, holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: new V1MicroTime(now.getTime()) };
    await coordination.replaceNamespacedLease({ name: nodeName, namespace: leaseNamespace, body: lease });
  }
}
