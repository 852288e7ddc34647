export { DeleteBackupDialog } from './DeleteBackupDialog';
