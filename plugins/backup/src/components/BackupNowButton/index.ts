export { BackupNowButton } from './BackupNowButton';
