import { MissingAnnotationEmptyState } from '@backstage/plugin-catalog-react';
import { APPLICATION_ANNOTATIONS } from '@ferry/plugin-backup-common';

/** Explains what to annotate so that Ferry knows what to back up. */
export const BackupAnnotationsMissing = () => (
  <MissingAnnotationEmptyState annotation={[...APPLICATION_ANNOTATIONS]} />
);
