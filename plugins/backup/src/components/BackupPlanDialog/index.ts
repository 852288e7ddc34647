export { BackupPlanDialog } from './BackupPlanDialog';
