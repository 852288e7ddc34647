import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { getOrUndefined, recordEvent, ResourceWatch, splitKey, updateWithRetry } from '../kube';
import { quantityToBytes } from '../quantity';
import { ReconcileQueue, ReconcileResult } from './ReconcileQueue';
import { CsiCallError, CsiServiceClient } from './csiClient';
import { csiDriverName } from './constants';
import { AccessModeName, VolumeCapability } from './csiTypes';

export type ResizerOptions = {
  kubeConfig: KubeConfig;
  /** The CSI driver's socket (ControllerExpandVolume is called there). */
  csiSocketPath: string;
  log?: (message: string) => void;
};

export type Resizer = { stop(): Promise<void> };

/** The component name on events, as external-resizer's would read. */
const component = `${csiDriverName}-ferry-resizer`;
const resizerAnnotation = 'volume.kubernetes.io/storage-resizer';

const accessModes: Record<string, AccessModeName> = {
  ReadWriteOnce: 'SINGLE_NODE_WRITER',
  ReadWriteOncePod: 'SINGLE_NODE_SINGLE_WRITER',
  ReadOnlyMany: 'MULTI_NODE_READER_ONLY',
  ReadWriteMany: 'MULTI_NODE_MULTI_WRITER',
};

function volumeCapability(pv: V1PersistentVolume): VolumeCapability {
  const mode = accessModes[pv.spec?.accessModes?.[0] ?? 'ReadWriteOnce'] ?? 'SINGLE_NODE_WRITER';
  if (pv.spec?.volumeMode === 'Block') return { block: {}, access_mode: { mode } };
  return { mount: { fs_type: pv.spec?.csi?.fsType ?? '', mount_flags: pv.spec?.mountOptions ?? [] }, access_mode: { mode } };
}

/** A byte count as a Kubernetes quantity (binary suffix when exact). */
function bytesToQuantity(bytes: number): string {
  for (const [suffix, unit] of [['Ti', 1024 ** 4], ['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
    if (bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

const bytesOf = (quantity: string | undefined, field: string) => (quantity ? quantityToBytes(quantity, field) : 0);

/**
 * Ours, in place of external-resizer (not served as a Go module here): the smallest controller
 * that follows its protocol. A bound claim of a sandbox.ferry.io volume whose request grew beyond
 * its capacity is marked ControllerResizeInProgress, ControllerExpandVolume is called on the
 * driver, the PV's capacity is raised, and then either the resize is finished (Block) or the
 * claim is marked FileSystemResizePending/NodeResizePending, so that the kubelet calls
 * NodeExpandVolume where the volume is mounted — the same claim fields the kubelet reads
 * (RecoverVolumeExpansionFailure, GA in Kubernetes 1.34).
 */
export async function startResizer(options: ResizerOptions): Promise<Resizer> {
  const log = options.log ?? (() => undefined);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const controller = new CsiServiceClient('controller', options.csiSocketPath);

  const patchClaimStatus = async (claim: V1PersistentVolumeClaim, mutate: (c: V1PersistentVolumeClaim) => void) => {
    const { namespace, name } = { namespace: claim.metadata!.namespace!, name: claim.metadata!.name! };
    await updateWithRetry({
      read: () => core.readNamespacedPersistentVolumeClaimStatus({ name, namespace }),
      mutate: current => {
        current.status = current.status ?? {};
        mutate(current);
      },
      write: updated => core.replaceNamespacedPersistentVolumeClaimStatus({ name, namespace, body: updated }),
    });
  };

  const event = (claim: V1PersistentVolumeClaim, type: 'Normal' | 'Warning', reason: string, message: string) =>
    recordEvent(core, {
      object: { ...claim, apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
      type,
      reason,
      message,
      component,
    });

  const reconcile = async (key: string): Promise<ReconcileResult | undefined> => {
    const { namespace, name } = splitKey(key);
    const claim = await getOrUndefined(() => core.readNamespacedPersistentVolumeClaim({ name, namespace }));
    if (!claim?.spec?.volumeName || claim.status?.phase !== 'Bound' || claim.metadata?.deletionTimestamp) return undefined;
    const pv = await getOrUndefined(() => core.readPersistentVolume({ name: claim.spec!.volumeName! }));
    if (pv?.spec?.csi?.driver !== csiDriverName) return undefined;
    const requestedQuantity = claim.spec.resources?.requests?.storage;
    const requested = bytesOf(requestedQuantity, 'spec.resources.requests.storage');
    const current = bytesOf(claim.status?.capacity?.storage, 'status.capacity.storage');
    if (requested <= current) return undefined;
    const resizeStatus = claim.status?.allocatedResourceStatuses?.storage;
    const pvCapacity = bytesOf(pv.spec.capacity?.storage, 'spec.capacity.storage');
    // The controller part is done: the kubelet finishes on the node.
    if (pvCapacity >= requested && (resizeStatus === 'NodeResizePending' || resizeStatus === 'NodeResizeInProgress')) {
      return undefined;
    }
    if (claim.metadata?.annotations?.[resizerAnnotation] !== csiDriverName) {
      await core.patchNamespacedPersistentVolumeClaim({
        name,
        namespace,
        body: { metadata: { annotations: { [resizerAnnotation]: csiDriverName } } },
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    await patchClaimStatus(claim, c => {
      c.status!.conditions = [{ type: 'Resizing', status: 'True', lastTransitionTime: new Date() }];
      c.status!.allocatedResourceStatuses = { ...c.status!.allocatedResourceStatuses, storage: 'ControllerResizeInProgress' };
      c.status!.allocatedResources = { ...c.status!.allocatedResources, storage: requestedQuantity! };
    });
    let response: { capacity_bytes: number; node_expansion_required: boolean };
    try {
      response = await controller.call('ControllerExpandVolume', {
        volume_id: pv.spec.csi.volumeHandle,
        capacity_range: { required_bytes: requested, limit_bytes: 0 },
        volume_capability: volumeCapability(pv),
      });
    } catch (error) {
      const message = `resize volume ${pv.metadata!.name} failed: ${(error as CsiCallError).details ?? String(error)}`;
      const infeasible = [3, 11].includes((error as CsiCallError).code); // INVALID_ARGUMENT, OUT_OF_RANGE
      await patchClaimStatus(claim, c => {
        c.status!.conditions = [{ type: 'ControllerResizeError', status: 'True', message, lastTransitionTime: new Date() }];
        c.status!.allocatedResourceStatuses = {
          ...c.status!.allocatedResourceStatuses,
          storage: infeasible ? 'ControllerResizeInfeasible' : 'ControllerResizeFailed',
        };
      });
      await event(claim, 'Warning', 'VolumeResizeFailed', message);
      log(`Resizer: ${message}`);
      return { requeueAfterMs: 10_000 };
    }
    const newQuantity = response.capacity_bytes === requested ? requestedQuantity! : bytesToQuantity(response.capacity_bytes);
    await updateWithRetry({
      read: () => core.readPersistentVolume({ name: pv.metadata!.name! }),
      mutate: latest => {
        if (bytesOf(latest.spec?.capacity?.storage, 'spec.capacity.storage') >= response.capacity_bytes) return false;
        latest.spec!.capacity = { ...latest.spec!.capacity, storage: newQuantity };
        return true;
      },
      write: updated => core.replacePersistentVolume({ name: pv.metadata!.name!, body: updated }),
    });
    if (response.node_expansion_required) {
      await patchClaimStatus(claim, c => {
        c.status!.conditions = [
          {
            type: 'FileSystemResizePending',
            status: 'True',
            message: 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.',
            lastTransitionTime: new Date(),
          },
        ];
        c.status!.allocatedResourceStatuses = { ...c.status!.allocatedResourceStatuses, storage: 'NodeResizePending' };
      });
      await event(claim, 'Normal', 'FileSystemResizeRequired', 'Require file system resize of volume on node');
      log(`Resizer: volume ${pv.metadata!.name} grown to ${newQuantity}; the node grows its file system`);
    } else {
      await patchClaimStatus(claim, c => {
        c.status!.capacity = { ...c.status!.capacity, storage: newQuantity };
        const statuses = { ...c.status!.allocatedResourceStatuses };
        delete statuses.storage;
        c.status!.allocatedResourceStatuses = Object.keys(statuses).length ? statuses : undefined;
        c.status!.conditions = [];
      });
      await event(claim, 'Normal', 'VolumeResizeSuccessful', 'Resize volume succeeded');
      log(`Resizer: volume ${pv.metadata!.name} grown to ${newQuantity}`);
    }
    return undefined;
  };

  const queue = new ReconcileQueue('claim resize', reconcile, log);
  const watch = new ResourceWatch<V1PersistentVolumeClaim>(options.kubeConfig, {
    path: '/api/v1/persistentvolumeclaims',
    list: () => core.listPersistentVolumeClaimForAllNamespaces(),
    onKey: key => queue.add(key),
  });
  await watch.start();
  return {
    async stop() {
      queue.stop();
      await watch.stop();
      await queue.idle();
      controller.close();
    },
  };
}
