import {
  CoreV1Api,
  CustomObjectsApi,
  StorageV1Api,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import fs from 'node:fs';
import { quantityToBytes } from './quantity';
import {
  agentComponent,
  allowVolumeModeChangeAnnotation,
  driverName,
  provisionedByAnnotation,
  pvFinalizer,
  snapshotGroup,
  snapshotVersion,
  VolumeSnapshot,
  VolumeSnapshotContent,
} from './constants';
import { getOrUndefined, ignoreNotFound, recordEvent, splitKey, updateWithRetry } from './kube';
import { ReconcileResult } from './ReconcileQueue';
import { VolumeStore } from './VolumeStore';

export type ProvisionerOptions = {
  core: CoreV1Api;
  storage: StorageV1Api;
  custom: CustomObjectsApi;
  store: VolumeStore;
  log: (message: string) => void;
};

/** Why a claim cannot be provisioned yet; reported as a ProvisioningFailed event, then retried. */
class ProvisioningBlocked extends Error {}

/**
 * The external-provisioner half of the sandbox CSI driver: PVCs of a StorageClass whose
 * provisioner is sandbox.ferry.io get a PV with `spec.csi` (the PV controller in
 * kube-controller-manager then binds them); Released PVs with reclaim policy Delete lose their
 * backing file and are deleted.
 */
export class Provisioner {
  constructor(private readonly options: ProvisionerOptions) {}

  /** PV name for a claim, as the real external-provisioner names it. */
  static pvName(claim: V1PersistentVolumeClaim): string {
    return `pvc-${claim.metadata!.uid}`;
  }

  async reconcileClaim(key: string): Promise<ReconcileResult | undefined> {
    const { core, storage } = this.options;
    const { namespace, name } = splitKey(key);
    const claim = await getOrUndefined(() => core.readNamespacedPersistentVolumeClaim({ name, namespace }));
    if (!claim || claim.metadata?.deletionTimestamp) return undefined;
    if (claim.spec?.volumeName) {
      await this.expandIfRequested(claim);
      return undefined;
    }
    const className = claim.spec?.storageClassName;
    if (!className) return undefined;
    const storageClass = await getOrUndefined(() => storage.readStorageClass({ name: className }));
    if (!storageClass || storageClass.provisioner !== driverName) return undefined;
    // WaitForFirstConsumer: the scheduler picks the node first (annotation on the claim).
    if (
      storageClass.volumeBindingMode === 'WaitForFirstConsumer' &&
      !claim.metadata?.annotations?.['volume.kubernetes.io/selected-node']
    ) {
      return undefined;
    }
    const pvName = Provisioner.pvName(claim);
    if (await getOrUndefined(() => core.readPersistentVolume({ name: pvName }))) return undefined;

    const volumeHandle = `vol-${claim.metadata!.uid}`;
    const volumeMode = (claim.spec?.volumeMode ?? 'Filesystem') as 'Filesystem' | 'Block';
    const requested = claim.spec?.resources?.requests?.storage;
    if (!requested) {
      await this.fail(claim, `claim ${key} has no spec.resources.requests.storage`);
      return { requeueAfterMs: 10_000 };
    }
    const sizeBytes = quantityToBytes(requested, 'spec.resources.requests.storage');
    try {
      await this.createBackingFile(claim, volumeHandle, volumeMode, sizeBytes);
    } catch (error) {
      if (error instanceof ProvisioningBlocked) {
        await this.fail(claim, error.message);
        return { requeueAfterMs: 3000 };
      }
      throw error;
    }
    const volume: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: pvName,
        annotations: { [provisionedByAnnotation]: driverName },
        finalizers: [pvFinalizer],
      },
      spec: {
        capacity: { storage: requested },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
        storageClassName: className,
        volumeMode,
        mountOptions: storageClass.mountOptions,
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace,
          name,
          uid: claim.metadata!.uid,
          resourceVersion: claim.metadata!.resourceVersion,
        },
        csi: {
          driver: driverName,
          volumeHandle,
          fsType: volumeMode === 'Filesystem' ? 'ext4' : undefined,
          volumeAttributes: { 'storage.kubernetes.io/csiProvisionerIdentity': agentComponent },
        },
      },
    };
    await core.createPersistentVolume({ body: volume });
    this.options.log(`Provisioned ${pvName} (${volumeMode}, ${requested}) for claim ${key}`);
    await recordEvent(core, {
      object: { ...claim, apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
      type: 'Normal',
      reason: 'ProvisioningSucceeded',
      message: `Successfully provisioned volume ${pvName}`,
      component: `${driverName}_${agentComponent}`,
    });
    return undefined;
  }

  private async createBackingFile(
    claim: V1PersistentVolumeClaim,
    volumeHandle: string,
    volumeMode: 'Filesystem' | 'Block',
    sizeBytes: number,
  ) {
    const { core, custom, store } = this.options;
    const namespace = claim.metadata!.namespace!;
    const source = claim.spec?.dataSourceRef ?? claim.spec?.dataSource;
    if (!source) {
      await store.createVolume(volumeHandle, sizeBytes);
      return;
    }
    if (source.kind === 'PersistentVolumeClaim' && !source.apiGroup) {
      const sourceClaim = await getOrUndefined(() =>
        core.readNamespacedPersistentVolumeClaim({ name: source.name, namespace }),
      );
      const sourcePvName = sourceClaim?.spec?.volumeName;
      const sourcePv = sourcePvName
        ? await getOrUndefined(() => core.readPersistentVolume({ name: sourcePvName }))
        : undefined;
      if (!sourcePv?.spec?.csi || sourcePv.spec.csi.driver !== driverName) {
        throw new ProvisioningBlocked(`source claim ${namespace}/${source.name} is not a bound ${driverName} volume`);
      }
      if ((sourcePv.spec.volumeMode ?? 'Filesystem') !== volumeMode) {
        throw new ProvisioningBlocked(`source claim ${namespace}/${source.name} has a different volumeMode`);
      }
      await store.createVolumeFrom(volumeHandle, store.volumeFile(sourcePv.spec.csi.volumeHandle), sizeBytes);
      return;
    }
    if (source.kind !== 'VolumeSnapshot' || source.apiGroup !== snapshotGroup) {
      throw new ProvisioningBlocked(`dataSource kind ${source.kind} (${source.apiGroup ?? 'core'}) is not supported`);
    }
    const snapshot = (await getOrUndefined(() =>
      custom.getNamespacedCustomObject({
        group: snapshotGroup,
        version: snapshotVersion,
        namespace,
        plural: 'volumesnapshots',
        name: source.name,
      }),
    )) as VolumeSnapshot | undefined;
    if (!snapshot) throw new ProvisioningBlocked(`snapshot ${namespace}/${source.name} not found`);
    const contentName = snapshot.status?.boundVolumeSnapshotContentName;
    if (!snapshot.status?.readyToUse || !contentName) {
      throw new ProvisioningBlocked(`snapshot ${namespace}/${source.name} is not ready to use`);
    }
    const content = (await getOrUndefined(() =>
      custom.getClusterCustomObject({
        group: snapshotGroup,
        version: snapshotVersion,
        plural: 'volumesnapshotcontents',
        name: contentName,
      }),
    )) as VolumeSnapshotContent | undefined;
    const snapshotHandle = content?.status?.snapshotHandle;
    if (!content || !snapshotHandle || content.spec.driver !== driverName) {
      throw new ProvisioningBlocked(`snapshot content ${contentName} is missing or not of driver ${driverName}`);
    }
    const sourceMode = content.spec.sourceVolumeMode;
    if (
      sourceMode &&
      sourceMode !== volumeMode &&
      content.metadata.annotations?.[allowVolumeModeChangeAnnotation] !== 'true'
    ) {
      throw new ProvisioningBlocked(
        `requested volume ${namespace}/${claim.metadata!.name} modifies the mode of the source volume but does not ` +
          `have permission to do so. ${allowVolumeModeChangeAnnotation} annotation is not present on snapshotcontent ${contentName}`,
      );
    }
    const restoreSize = content.status?.restoreSize ?? 0;
    if (sizeBytes < restoreSize) {
      throw new ProvisioningBlocked(
        `requested volume size ${sizeBytes} is less than the size ${restoreSize} of snapshot ${namespace}/${source.name}`,
      );
    }
    await store.createVolumeFrom(volumeHandle, store.snapshotFile(snapshotHandle), sizeBytes);
  }

  /**
   * The external-resizer and node-expansion roles: a bound claim whose request grew beyond its
   * volume's capacity (the apiserver allows that only with allowVolumeExpansion) gets a larger
   * file, PV capacity and claim status capacity. Existing bytes are kept.
   */
  private async expandIfRequested(claim: V1PersistentVolumeClaim) {
    const { core, store } = this.options;
    const requested = claim.spec?.resources?.requests?.storage;
    const pv = await getOrUndefined(() => core.readPersistentVolume({ name: claim.spec!.volumeName! }));
    if (!requested || !pv?.spec?.csi || pv.spec.csi.driver !== driverName) return;
    const wanted = quantityToBytes(requested, 'spec.resources.requests.storage');
    const capacity = quantityToBytes(pv.spec.capacity?.storage ?? '0', 'spec.capacity.storage');
    const reported = claim.status?.capacity?.storage;
    if (wanted > capacity) {
      const file = store.volumeFile(pv.spec.csi.volumeHandle);
      const { size } = await fs.promises.stat(file);
      if (wanted > size) await fs.promises.truncate(file, wanted);
      await updateWithRetry({
        read: () => core.readPersistentVolume({ name: pv.metadata!.name! }),
        mutate: current => {
          current.spec!.capacity = { ...current.spec!.capacity, storage: requested };
          return true;
        },
        write: updated => core.replacePersistentVolume({ name: pv.metadata!.name!, body: updated }),
      });
      this.options.log(`Expanded ${pv.metadata!.name} to ${requested} for claim ${claim.metadata!.namespace}/${claim.metadata!.name}`);
    } else if (!reported || quantityToBytes(reported, 'status.capacity.storage') >= capacity) {
      return;
    }
    const name = claim.metadata!.name!;
    const namespace = claim.metadata!.namespace!;
    await updateWithRetry({
      read: () => core.readNamespacedPersistentVolumeClaimStatus({ name, namespace }),
      mutate: current => {
        const storage = wanted > capacity ? requested : pv.spec!.capacity!.storage!;
        current.status = {
          ...current.status,
          capacity: { ...current.status?.capacity, storage },
          allocatedResources: { ...current.status?.allocatedResources, storage },
          allocatedResourceStatuses: undefined,
          conditions: (current.status?.conditions ?? []).filter(
            c => c.type !== 'Resizing' && c.type !== 'FileSystemResizePending',
          ),
        };
        return true;
      },
      write: updated => core.replaceNamespacedPersistentVolumeClaimStatus({ name, namespace, body: updated }),
    });
    await recordEvent(core, {
      object: { ...claim, apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
      type: 'Normal',
      reason: 'VolumeResizeSuccessful',
      message: `resize volume ${pv.metadata!.name} to ${requested} succeeded`,
      component: `${driverName}_${agentComponent}`,
    });
  }

  private async fail(claim: V1PersistentVolumeClaim, message: string) {
    this.options.log(`Cannot provision claim ${claim.metadata?.namespace}/${claim.metadata?.name}: ${message}`);
    await recordEvent(this.options.core, {
      object: { ...claim, apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
      type: 'Warning',
      reason: 'ProvisioningFailed',
      message,
      component: `${driverName}_${agentComponent}`,
    });
  }

  /** Deletes the backing file and the PV once it is Released (reclaim Delete) or being deleted. */
  async reconcileVolume(name: string): Promise<ReconcileResult | undefined> {
    const { core, store } = this.options;
    const volume = await getOrUndefined(() => core.readPersistentVolume({ name }));
    if (!volume?.spec?.csi || volume.spec.csi.driver !== driverName) return undefined;
    if (volume.metadata?.annotations?.[provisionedByAnnotation] !== driverName) return undefined;
    const reclaimDelete = volume.spec.persistentVolumeReclaimPolicy === 'Delete';
    const released = volume.status?.phase === 'Released' || volume.status?.phase === 'Failed';
    if (reclaimDelete && released && !volume.metadata?.deletionTimestamp) {
      await store.deleteVolume(volume.spec.csi.volumeHandle);
      this.options.log(`Deleted volume ${name}`);
      await ignoreNotFound(() => core.deletePersistentVolume({ name }));
      return { requeueAfterMs: 200 };
    }
    if (volume.metadata?.deletionTimestamp && volume.metadata.finalizers?.includes(pvFinalizer)) {
      // Only once no other finalizer (pv-protection) holds it: the claim is gone.
      const others = volume.metadata.finalizers.filter(f => f !== pvFinalizer);
      if (others.length > 0) return undefined;
      if (reclaimDelete) await store.deleteVolume(volume.spec.csi.volumeHandle);
      await ignoreNotFound(() =>
        updateWithRetry({
          read: () => core.readPersistentVolume({ name }),
          mutate: current => {
            const finalizers = current.metadata?.finalizers ?? [];
            if (!finalizers.includes(pvFinalizer)) return false;
            current.metadata!.finalizers = finalizers.filter(f => f !== pvFinalizer);
            return true;
          },
          write: updated => core.replacePersistentVolume({ name, body: updated }),
        }),
      );
    }
    return undefined;
  }
}
