export { EntityBackupStatusCard } from './EntityBackupStatusCard';
export { ProtectionStatus } from './ProtectionStatus';
