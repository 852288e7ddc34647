import { getCompoundEntityRef } from '@backstage/catalog-model';
import { TableColumn } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { isBackupAvailable, RestoreSummary } from '@ferry/plugin-backup-common';
import { backupApiRef } from '../../api/BackupApi';
import { BackupAnnotationsMissing } from '../BackupAnnotationsMissing';
import { formatDuration, formatTrigger } from '../format';
import { PagedHistory } from '../PagedHistory';
import { PhaseChip } from '../PhaseChip';

const columns: TableColumn<RestoreSummary>[] = [
  { title: 'Time', render: r => new Date(r.createdAt).toLocaleString() },
  { title: 'Backup', field: 'backupId' },
  { title: 'Into', render: r => `${r.cluster} / ${r.namespace}` },
  { title: 'Phase', render: r => <PhaseChip phase={r.phase} /> },
  { title: 'Duration', render: r => formatDuration(r.createdAt, r.completedAt) },
  { title: 'Started by', render: r => formatTrigger(r.trigger) },
];

/** The entity page's "Restores" tab. */
export const EntityRestoresContent = () => {
  const { entity } = useEntity();
  const api = useApi(backupApiRef);
  if (!isBackupAvailable(entity)) {
    return <BackupAnnotationsMissing />;
  }
  const ref = getCompoundEntityRef(entity);
  const title = entity.metadata.title ?? entity.metadata.name;
  return (
    <PagedHistory<RestoreSummary>
      title={`Restores of ${title}`}
      load={page => api.listRestores(ref, page)}
      columns={columns}
      emptyTitle={`No restores yet for ${title}`}
      emptyDescription="Restore a backup from the Backups tab; its progress and outcome will be listed here."
    />
  );
};
