import { getCompoundEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Box, Button, Typography } from '@material-ui/core';
import {
  BackupSummary,
  BackupTypeRequest,
  isBackupAvailable,
  isTerminalPhase,
} from '@ferry/plugin-backup-common';
import { useCallback, useMemo, useState } from 'react';
import { backupApiRef } from '../../api/BackupApi';
import { ApiErrorPanel } from '../ApiErrorPanel';
import { BackupAnnotationsMissing } from '../BackupAnnotationsMissing';
import { BackupDetailDrawer } from '../BackupDetailDrawer';
import { BackupNowButton } from '../BackupNowButton';
import { BackupPlanDialog } from '../BackupPlanDialog';
import { LiveOperationCard } from '../LiveOperationCard';
import { PagedHistory } from '../PagedHistory';
import { RestoreWizard } from '../RestoreWizard';
import { backupColumns } from './backupColumns';
import { RowRestoreButton } from './RowRestoreButton';

/** The entity page's "Backups" tab. */
export const EntityBackupsContent = () => {
  const { entity } = useEntity();
  const api = useApi(backupApiRef);
  const entityRef = useMemo(() => getCompoundEntityRef(entity), [entity]);
  const [reloadKey, setReloadKey] = useState(0);
  const [openId, setOpenId] = useState<string>();
  const [restoreFrom, setRestoreFrom] = useState<BackupSummary>();
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<Error>();
  const [showPlan, setShowPlan] = useState(false);
  const reload = useCallback(() => setReloadKey(n => n + 1), []);
  const columns = useMemo(
    () =>
      backupColumns(backup => (
        <RowRestoreButton entity={entity} backup={backup} onRestore={setRestoreFrom} />
      )),
    [entity],
  );

  if (!isBackupAvailable(entity)) {
    return <BackupAnnotationsMissing />;
  }
  const title = entity.metadata.title ?? entity.metadata.name;

  const backUp = async (type: BackupTypeRequest) => {
    setCreating(true);
    setCreateError(undefined);
    try {
      await api.createBackup(entityRef, { type });
      reload();
    } catch (error) {
      setCreateError(error as Error);
    } finally {
      setCreating(false);
    }
  };

  const actions = (
    <Box mb={2}>
      <Box display="flex" alignItems="center" style={{ gap: 16 }}>
        <BackupNowButton entity={entity} busy={creating} onBackup={backUp} />
        <Typography variant="body2" color="textSecondary">
          Resources, volumes (QCOW2, full or incremental) and container images of {title}.
        </Typography>
        <Button size="small" color="primary" onClick={() => setShowPlan(true)}>
          What is backed up?
        </Button>
      </Box>
      {createError && (
        <Box mt={2}>
          <ApiErrorPanel error={createError} />
        </Box>
      )}
    </Box>
  );

  return (
    <>
      <PagedHistory<BackupSummary>
        title={`Backups of ${title}`}
        load={page => api.listBackups(entityRef, page)}
        columns={columns}
        reloadKey={reloadKey}
        actions={actions}
        onRowClick={backup => setOpenId(backup.id)}
        aboveTable={items =>
          items
            .filter(backup => !isTerminalPhase(backup.phase))
            .map(backup => (
              <LiveOperationCard
                key={backup.id}
                title={`${backup.kind === 'full' ? 'Full' : 'Incremental'} backup in progress`}
                subheader={`${backup.id} · started ${new Date(backup.createdAt).toLocaleString()}`}
                id={backup.id}
                phase={backup.phase}
                load={() => api.getBackup(entityRef, backup.id)}
                stream={options => api.streamBackup(entityRef, backup.id, options)}
                onFinished={reload}
                onOpen={setOpenId}
              />
            ))
        }
        emptyTitle={`No backups yet for ${title}`}
        emptyDescription="Press Back up now: backups of this component's Kubernetes resources and volumes will be listed here, newest first."
      />
      <BackupDetailDrawer
        entity={entity}
        backupId={openId}
        onClose={() => setOpenId(undefined)}
        onRestore={backup => setRestoreFrom(backup)}
        onDeleted={() => {
          setOpenId(undefined);
          reload();
        }}
      />
      {showPlan && <BackupPlanDialog entity={entity} onClose={() => setShowPlan(false)} />}
      {restoreFrom && (
        <RestoreWizard
          entity={entity}
          backup={restoreFrom}
          onClose={() => setRestoreFrom(undefined)}
        />
      )}
    </>
  );
};
