import { getCompoundEntityRef } from '@backstage/catalog-model';
import { TableColumn } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import {
  isBackupAvailable,
  isTerminalPhase,
  RestoreSummary,
} from '@ferry/plugin-backup-common';
import { CSSProperties, useCallback, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { backupApiRef } from '../../api/BackupApi';
import { BackupAnnotationsMissing } from '../BackupAnnotationsMissing';
import { formatDuration, formatTrigger } from '../format';
import { LiveOperationCard } from '../LiveOperationCard';
import { PagedHistory } from '../PagedHistory';
import { PhaseChip } from '../PhaseChip';
import { RestoreDetailDrawer } from '../RestoreDetail';

const nowrap: CSSProperties = { whiteSpace: 'nowrap' };

const columns: TableColumn<RestoreSummary>[] = [
  { title: 'Time', cellStyle: nowrap, render: r => new Date(r.createdAt).toLocaleString() },
  { title: 'Backup', field: 'backupId' },
  { title: 'Into', cellStyle: nowrap, render: r => `${r.cluster} / ${r.namespace}` },
  { title: 'Phase', cellStyle: nowrap, render: r => <PhaseChip phase={r.phase} /> },
  { title: 'Duration', cellStyle: nowrap, render: r => formatDuration(r.createdAt, r.completedAt) },
  { title: 'Started by', render: r => formatTrigger(r.trigger) },
];

/** The entity page's "Restores" tab; `?restore=<id>` opens that restore's details. */
export const EntityRestoresContent = () => {
  const { entity } = useEntity();
  const api = useApi(backupApiRef);
  const entityRef = useMemo(() => getCompoundEntityRef(entity), [entity]);
  const [searchParams, setSearchParams] = useSearchParams();
  const [reloadKey, setReloadKey] = useState(0);
  const reload = useCallback(() => setReloadKey(n => n + 1), []);
  const openId = searchParams.get('restore') ?? undefined;
  const open = useCallback(
    (id?: string) =>
      setSearchParams(
        params => {
          const next = new URLSearchParams(params);
          if (id) next.set('restore', id);
          else next.delete('restore');
          return next;
        },
        { replace: true },
      ),
    [setSearchParams],
  );

  if (!isBackupAvailable(entity)) {
    return <BackupAnnotationsMissing />;
  }
  const title = entity.metadata.title ?? entity.metadata.name;
  return (
    <>
      <PagedHistory<RestoreSummary>
        title={`Restores of ${title}`}
        load={page => api.listRestores(entityRef, page)}
        columns={columns}
        reloadKey={reloadKey}
        onRowClick={restore => open(restore.id)}
        aboveTable={items =>
          items
            .filter(restore => !isTerminalPhase(restore.phase))
            .map(restore => (
              <LiveOperationCard
                key={restore.id}
                title={`Restore into ${restore.cluster} / ${restore.namespace} in progress`}
                subheader={`${restore.id} · from backup ${restore.backupId}`}
                id={restore.id}
                phase={restore.phase}
                load={() => api.getRestore(entityRef, restore.id)}
                stream={options => api.streamRestore(entityRef, restore.id, options)}
                onFinished={reload}
                onOpen={open}
              />
            ))
        }
        emptyTitle={`No restores yet for ${title}`}
        emptyDescription="Restore a backup from the Backups tab (the restore icon on a row, or its details); its progress and the outcome per object will be listed here."
      />
      <RestoreDetailDrawer
        entityRef={entityRef}
        restoreId={openId}
        onClose={() => open(undefined)}
        onFinished={reload}
      />
    </>
  );
};
