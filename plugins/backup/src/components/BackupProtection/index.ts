export { BackupProtection, formatLockDate } from './BackupProtection';
