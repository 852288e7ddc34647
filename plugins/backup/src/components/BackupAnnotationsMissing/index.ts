export { BackupAnnotationsMissing } from './BackupAnnotationsMissing';
