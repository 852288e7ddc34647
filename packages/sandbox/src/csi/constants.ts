/** The CSI driver's name (StorageClass `ferry-sandbox` provisions with it). */
export const csiDriverName = 'sandbox.ferry.io';
/** Reported by GetPluginInfo. */
export const csiDriverVersion = '0.1.0';
/** The StorageClass and VolumeSnapshotClass the stack creates. */
export const storageClassName = 'ferry-sandbox';
export const allowVolumeModeChangeAnnotation = 'snapshot.storage.kubernetes.io/allow-volume-mode-change';
/** Socket name of the registration server in the kubelet's plugins_registry folder. */
export const registrationSocketName = `${csiDriverName}-reg.sock`;
