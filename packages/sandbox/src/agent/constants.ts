/** CSI driver (and provisioner) name served by the node agent. */
export const driverName = 'sandbox.ferry.io';
export const snapshotGroup = 'snapshot.storage.k8s.io';
export const snapshotVersion = 'v1';
export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';
export const allowVolumeModeChangeAnnotation = 'snapshot.storage.kubernetes.io/allow-volume-mode-change';
export const defaultSnapshotClassAnnotation = 'snapshot.storage.kubernetes.io/is-default-class';
/** Held on PVs we provisioned until their backing file is deleted. */
export const pvFinalizer = 'external-provisioner.volume.kubernetes.io/finalizer';
export const snapshotBoundFinalizer = 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';
export const contentBoundFinalizer = 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';
export const agentComponent = 'ferry-sandbox-agent';

export type VolumeSnapshot = {
  apiVersion?: string;
  kind?: string;
  metadata: import('@kubernetes/client-node').V1ObjectMeta;
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string | number;
    error?: { message?: string; time?: string };
  };
};

export type VolumeSnapshotContent = {
  apiVersion?: string;
  kind?: string;
  metadata: import('@kubernetes/client-node').V1ObjectMeta;
  spec: {
    deletionPolicy: 'Delete' | 'Retain';
    driver: string;
    source: { snapshotHandle?: string; volumeHandle?: string };
    sourceVolumeMode?: 'Filesystem' | 'Block';
    volumeSnapshotClassName?: string;
    volumeSnapshotRef: { apiVersion?: string; kind?: string; name?: string; namespace?: string; uid?: string };
  };
  status?: {
    creationTime?: number;
    readyToUse?: boolean;
    restoreSize?: number;
    snapshotHandle?: string;
    error?: { message?: string; time?: string };
  };
};

export type VolumeSnapshotClass = {
  metadata: import('@kubernetes/client-node').V1ObjectMeta;
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
};
