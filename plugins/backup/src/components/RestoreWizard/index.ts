export { RestoreWizard } from './RestoreWizard';
export { toRestoreRequest, initialRestoreForm } from './restoreForm';
export type { RestoreForm } from './restoreForm';
