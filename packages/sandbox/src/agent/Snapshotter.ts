import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import fs from 'node:fs';
import {
  agentComponent,
  contentBoundFinalizer,
  defaultSnapshotClassAnnotation,
  driverName,
  snapshotBoundFinalizer,
  snapshotGroup,
  snapshotVersion,
  VolumeSnapshot,
  VolumeSnapshotClass,
  VolumeSnapshotContent,
} from './constants';
import { getOrUndefined, ignoreNotFound, recordEvent, splitKey } from './kube';
import { ReconcileResult } from './ReconcileQueue';
import { VolumeStore } from './VolumeStore';

export type SnapshotterOptions = {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  store: VolumeStore;
  log: (message: string) => void;
};

const group = { group: snapshotGroup, version: snapshotVersion };

/**
 * The snapshot-controller and csi-snapshotter of the sandbox: a VolumeSnapshot of a claim bound
 * to a sandbox.ferry.io volume gets a VolumeSnapshotContent and a sparse copy of the volume file;
 * statuses (readyToUse, restoreSize, creationTime) are set on both; deletion honours
 * deletionPolicy and the bound-protection finalizers. Pre-provisioned contents (snapshotHandle)
 * bind to the VolumeSnapshot that names them.
 */
export class Snapshotter {
  constructor(private readonly options: SnapshotterOptions) {}

  private getSnapshot(namespace: string, name: string) {
    return getOrUndefined(
      async () =>
        (await this.options.custom.getNamespacedCustomObject({
          ...group,
          namespace,
          plural: 'volumesnapshots',
          name,
        })) as VolumeSnapshot,
    );
  }

  private getContent(name: string) {
    return getOrUndefined(
      async () =>
        (await this.options.custom.getClusterCustomObject({
          ...group,
          plural: 'volumesnapshotcontents',
          name,
        })) as VolumeSnapshotContent,
    );
  }

  private async setFinalizers(snapshot: VolumeSnapshot, finalizers: string[]) {
    await this.options.custom.patchNamespacedCustomObject({
      ...group,
      namespace: snapshot.metadata.namespace!,
      plural: 'volumesnapshots',
      name: snapshot.metadata.name!,
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: snapshot.metadata.resourceVersion },
        { op: 'replace', path: '/metadata/finalizers', value: finalizers },
      ],
    });
  }

  private async setContentFinalizers(content: VolumeSnapshotContent, finalizers: string[]) {
    await this.options.custom.patchClusterCustomObject({
      ...group,
      plural: 'volumesnapshotcontents',
      name: content.metadata.name!,
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: content.metadata.resourceVersion },
        { op: 'replace', path: '/metadata/finalizers', value: finalizers },
      ],
    });
  }

  private async setSnapshotStatus(snapshot: VolumeSnapshot, status: VolumeSnapshot['status']) {
    await this.options.custom.replaceNamespacedCustomObjectStatus({
      ...group,
      namespace: snapshot.metadata.namespace!,
      plural: 'volumesnapshots',
      name: snapshot.metadata.name!,
      body: { ...snapshot, status },
    });
  }

  private async snapshotError(snapshot: VolumeSnapshot, message: string): Promise<ReconcileResult> {
    if (snapshot.status?.error?.message !== message) {
      this.options.log(`Snapshot ${snapshot.metadata.namespace}/${snapshot.metadata.name}: ${message}`);
      await this.setSnapshotStatus(snapshot, {
        ...snapshot.status,
        readyToUse: false,
        error: { message, time: new Date().toISOString() },
      });
      await recordEvent(this.options.core, {
        object: { ...snapshot, apiVersion: `${snapshotGroup}/${snapshotVersion}`, kind: 'VolumeSnapshot' },
        type: 'Warning',
        reason: 'SnapshotCreationFailed',
        message,
        component: agentComponent,
      });
    }
    return { requeueAfterMs: 3000 };
  }

  private async snapshotClass(name: string | undefined): Promise<VolumeSnapshotClass | undefined> {
    const { custom } = this.options;
    if (name) {
      return getOrUndefined(
        async () =>
          (await custom.getClusterCustomObject({ ...group, plural: 'volumesnapshotclasses', name })) as VolumeSnapshotClass,
      );
    }
    const list = (await custom.listClusterCustomObject({ ...group, plural: 'volumesnapshotclasses' })) as {
      items: VolumeSnapshotClass[];
    };
    return list.items.find(
      c => c.driver === driverName && c.metadata.annotations?.[defaultSnapshotClassAnnotation] === 'true',
    );
  }

  async reconcileSnapshot(key: string): Promise<ReconcileResult | undefined> {
    const { namespace, name } = splitKey(key);
    const snapshot = await this.getSnapshot(namespace, name);
    if (!snapshot) return undefined;
    if (snapshot.metadata.deletionTimestamp) return this.deleteSnapshot(snapshot);
    const finalizers = snapshot.metadata.finalizers ?? [];
    if (!finalizers.includes(snapshotBoundFinalizer)) {
      await this.setFinalizers(snapshot, [...finalizers, snapshotBoundFinalizer]);
      return undefined; // the update event brings us back
    }
    if (snapshot.status?.readyToUse) return undefined;
    const source = snapshot.spec.source;
    if (source.volumeSnapshotContentName) return this.bindPreProvisioned(snapshot, source.volumeSnapshotContentName);
    const claimName = source.persistentVolumeClaimName!;
    const claim = await getOrUndefined(() =>
      this.options.core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace }),
    );
    if (!claim) return this.snapshotError(snapshot, `source claim ${namespace}/${claimName} not found`);
    const pvName = claim.spec?.volumeName;
    const volume = pvName ? await getOrUndefined(() => this.options.core.readPersistentVolume({ name: pvName })) : undefined;
    if (!volume || claim.status?.phase !== 'Bound') {
      return this.snapshotError(snapshot, `source claim ${namespace}/${claimName} is not bound yet`);
    }
    if (volume.spec?.csi?.driver !== driverName) {
      return this.snapshotError(snapshot, `source claim ${namespace}/${claimName} is not a ${driverName} volume`);
    }
    const snapshotClass = await this.snapshotClass(snapshot.spec.volumeSnapshotClassName);
    if (!snapshotClass) {
      return this.snapshotError(
        snapshot,
        `volume snapshot class ${snapshot.spec.volumeSnapshotClassName ?? '(default)'} not found`,
      );
    }
    if (snapshotClass.driver !== driverName) {
      return this.snapshotError(snapshot, `volume snapshot class ${snapshotClass.metadata.name} is not of driver ${driverName}`);
    }

    const contentName = `snapcontent-${snapshot.metadata.uid}`;
    let content = await this.getContent(contentName);
    if (!content) {
      content = (await this.options.custom.createClusterCustomObject({
        ...group,
        plural: 'volumesnapshotcontents',
        body: {
          apiVersion: `${snapshotGroup}/${snapshotVersion}`,
          kind: 'VolumeSnapshotContent',
          metadata: { name: contentName, finalizers: [contentBoundFinalizer] },
          spec: {
            deletionPolicy: snapshotClass.deletionPolicy,
            driver: driverName,
            source: { volumeHandle: volume.spec.csi.volumeHandle },
            sourceVolumeMode: volume.spec.volumeMode ?? 'Filesystem',
            volumeSnapshotClassName: snapshotClass.metadata.name,
            volumeSnapshotRef: {
              apiVersion: `${snapshotGroup}/${snapshotVersion}`,
              kind: 'VolumeSnapshot',
              name,
              namespace,
              uid: snapshot.metadata.uid,
            },
          },
        },
      })) as VolumeSnapshotContent;
    }
    if (!content.status?.readyToUse) {
      const snapshotHandle = `snap-${snapshot.metadata.uid}`;
      const restoreSize = await this.options.store.snapshotVolume(volume.spec.csi.volumeHandle, snapshotHandle);
      content = (await this.options.custom.replaceClusterCustomObjectStatus({
        ...group,
        plural: 'volumesnapshotcontents',
        name: contentName,
        body: {
          ...content,
          status: { snapshotHandle, readyToUse: true, restoreSize, creationTime: Date.now() * 1_000_000 },
        },
      })) as VolumeSnapshotContent;
      this.options.log(`Snapshot ${key} of ${pvName} is ready (${restoreSize} bytes)`);
    }
    await this.markReady(snapshot, content);
    return undefined;
  }

  private async markReady(snapshot: VolumeSnapshot, content: VolumeSnapshotContent) {
    const status = content.status!;
    await this.setSnapshotStatus(snapshot, {
      boundVolumeSnapshotContentName: content.metadata.name,
      readyToUse: true,
      restoreSize: String(status.restoreSize ?? 0),
      creationTime: new Date(Math.floor((status.creationTime ?? Date.now() * 1e6) / 1e6)).toISOString(),
    });
    await recordEvent(this.options.core, {
      object: { ...snapshot, apiVersion: `${snapshotGroup}/${snapshotVersion}`, kind: 'VolumeSnapshot' },
      type: 'Normal',
      reason: 'SnapshotReady',
      message: `Snapshot ${snapshot.metadata.namespace}/${snapshot.metadata.name} is ready to use.`,
      component: agentComponent,
    });
  }

  private async bindPreProvisioned(snapshot: VolumeSnapshot, contentName: string): Promise<ReconcileResult | undefined> {
    let content = await this.getContent(contentName);
    if (!content) return this.snapshotError(snapshot, `volume snapshot content ${contentName} not found`);
    const ref = content.spec.volumeSnapshotRef;
    if (ref.name !== snapshot.metadata.name || ref.namespace !== snapshot.metadata.namespace) {
      return this.snapshotError(
        snapshot,
        `volume snapshot content ${contentName} is bound to ${ref.namespace}/${ref.name}, not to this snapshot`,
      );
    }
    const handle = content.spec.source.snapshotHandle;
    if (!content.status?.readyToUse) {
      if (!handle) return this.snapshotError(snapshot, `volume snapshot content ${contentName} has no snapshotHandle`);
      let restoreSize: number;
      try {
        restoreSize = fs.statSync(this.options.store.snapshotFile(handle)).size;
      } catch {
        return this.snapshotError(snapshot, `snapshot ${handle} of content ${contentName} does not exist in the sandbox`);
      }
      content = (await this.options.custom.replaceClusterCustomObjectStatus({
        ...group,
        plural: 'volumesnapshotcontents',
        name: contentName,
        body: { ...content, status: { snapshotHandle: handle, readyToUse: true, restoreSize, creationTime: Date.now() * 1e6 } },
      })) as VolumeSnapshotContent;
    }
    await this.markReady(snapshot, content);
    return undefined;
  }

  private async deleteSnapshot(snapshot: VolumeSnapshot): Promise<ReconcileResult | undefined> {
    const contentName =
      snapshot.status?.boundVolumeSnapshotContentName ??
      (snapshot.spec.source.persistentVolumeClaimName ? `snapcontent-${snapshot.metadata.uid}` : undefined);
    const content = contentName ? await this.getContent(contentName) : undefined;
    if (content && content.spec.deletionPolicy === 'Delete') {
      if (!content.metadata.deletionTimestamp) {
        await ignoreNotFound(() =>
          this.options.custom.deleteClusterCustomObject({ ...group, plural: 'volumesnapshotcontents', name: contentName! }),
        );
      }
      // The content's own reconcile removes its finalizer once the file is gone.
      return { requeueAfterMs: 200 };
    }
    if (content?.metadata.finalizers?.includes(contentBoundFinalizer)) {
      await this.setContentFinalizers(content, content.metadata.finalizers.filter(f => f !== contentBoundFinalizer));
    }
    const finalizers = snapshot.metadata.finalizers ?? [];
    if (finalizers.includes(snapshotBoundFinalizer)) {
      await this.setFinalizers(snapshot, finalizers.filter(f => f !== snapshotBoundFinalizer));
    }
    return undefined;
  }

  async reconcileContent(name: string): Promise<ReconcileResult | undefined> {
    const content = await this.getContent(name);
    if (!content || content.spec.driver !== driverName) return undefined;
    if (content.metadata.deletionTimestamp) {
      if (content.spec.deletionPolicy === 'Delete' && content.status?.snapshotHandle) {
        await this.options.store.deleteSnapshot(content.status.snapshotHandle);
        this.options.log(`Deleted snapshot content ${name}`);
      }
      const finalizers = content.metadata.finalizers ?? [];
      if (finalizers.includes(contentBoundFinalizer)) {
        await this.setContentFinalizers(content, finalizers.filter(f => f !== contentBoundFinalizer));
      }
      return undefined;
    }
    // A dynamically created content whose snapshot is gone (deleted while we were not looking).
    const ref = content.spec.volumeSnapshotRef;
    if (!content.spec.source.volumeHandle || !ref.name || !ref.namespace || !ref.uid) return undefined;
    const snapshot = await this.getSnapshot(ref.namespace, ref.name);
    if (snapshot && snapshot.metadata.uid === ref.uid) return undefined;
    if (content.spec.deletionPolicy === 'Delete') {
      await ignoreNotFound(() =>
        this.options.custom.deleteClusterCustomObject({ ...group, plural: 'volumesnapshotcontents', name }),
      );
    } else if (content.metadata.finalizers?.includes(contentBoundFinalizer)) {
      await this.setContentFinalizers(content, content.metadata.finalizers.filter(f => f !== contentBoundFinalizer));
    }
    return undefined;
  }
}
