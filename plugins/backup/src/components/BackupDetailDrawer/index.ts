export { BackupDetailDrawer, isRestorable } from './BackupDetailDrawer';
export { VolumeChain } from './BackupContents';
