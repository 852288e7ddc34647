import { getCompoundEntityRef } from '@backstage/catalog-model';
import { TableColumn } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { BackupSummary, isBackupAvailable } from '@ferry/plugin-backup-common';
import { backupApiRef } from '../../api/BackupApi';
import { BackupAnnotationsMissing } from '../BackupAnnotationsMissing';
import { formatBytes, formatDuration, formatTrigger } from '../format';
import { PagedHistory } from '../PagedHistory';
import { PhaseChip } from '../PhaseChip';

const columns: TableColumn<BackupSummary>[] = [
  { title: 'Time', render: b => new Date(b.createdAt).toLocaleString() },
  { title: 'Type', render: b => (b.kind === 'full' ? 'Full' : 'Incremental') },
  { title: 'Phase', render: b => <PhaseChip phase={b.phase} /> },
  { title: 'Logical size', render: b => formatBytes(b.logicalBytes) },
  { title: 'Stored size', render: b => formatBytes(b.storedBytes) },
  { title: 'Duration', render: b => formatDuration(b.createdAt, b.completedAt) },
  { title: 'Policy', render: b => b.policy ?? '—' },
  { title: 'Started by', render: b => formatTrigger(b.trigger) },
];

/** The entity page's "Backups" tab. */
export const EntityBackupsContent = () => {
  const { entity } = useEntity();
  const api = useApi(backupApiRef);
  if (!isBackupAvailable(entity)) {
    return <BackupAnnotationsMissing />;
  }
  const ref = getCompoundEntityRef(entity);
  const title = entity.metadata.title ?? entity.metadata.name;
  return (
    <PagedHistory<BackupSummary>
      title={`Backups of ${title}`}
      load={page => api.listBackups(ref, page)}
      columns={columns}
      emptyTitle={`No backups yet for ${title}`}
      emptyDescription="Backups of this component's Kubernetes resources and volumes will be listed here, newest first."
    />
  );
};
