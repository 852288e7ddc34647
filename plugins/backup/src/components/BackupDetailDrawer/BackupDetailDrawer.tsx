import { Entity, getCompoundEntityRef } from '@backstage/catalog-model';
import { Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Box, Button, Drawer, IconButton, makeStyles, Typography } from '@material-ui/core';
import CloseIcon from '@material-ui/icons/Close';
import DeleteIcon from '@material-ui/icons/Delete';
import RestoreIcon from '@material-ui/icons/Restore';
import {
  BackupDetail,
  backupDeletePermission,
  backupRestorePermission,
  isTerminalPhase,
} from '@ferry/plugin-backup-common';
import { useMemo, useState } from 'react';
import { backupApiRef } from '../../api/BackupApi';
import { useActionPermission } from '../../hooks/useActionPermission';
import { useLiveOperation } from '../../hooks/useLiveOperation';
import { ApiErrorPanel } from '../ApiErrorPanel';
import { DeleteBackupDialog } from '../DeleteBackupDialog';
import { DetailSection } from '../DetailSection';
import { FailureList } from '../FailureList';
import { formatBytes, formatDuration, formatTrigger } from '../format';
import { OperationProgress, OperationTimeline } from '../OperationProgress';
import { PermissionTooltip } from '../PermissionTooltip';
import { PhaseChip } from '../PhaseChip';
import { BackupImages, BackupResources, BackupVolumes } from './BackupContents';
import { BackupHooks } from './BackupHooks';
import { BackupProtection } from '../BackupProtection';

const useStyles = makeStyles(theme => ({
  paper: { width: 760, maxWidth: '100vw', padding: theme.spacing(3) },
  header: { display: 'flex', alignItems: 'center', justifyContent: 'space-between' },
  facts: {
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr',
    columnGap: theme.spacing(2),
    rowGap: theme.spacing(0.5),
    margin: theme.spacing(2, 0),
  },
  actions: { display: 'flex', gap: theme.spacing(1), marginBottom: theme.spacing(2) },
}));

/** Whether a backup can be restored from: it finished and committed at least part of its data. */
export function isRestorable(backup: { phase: BackupDetail['phase'] }): boolean {
  return backup.phase === 'Completed' || backup.phase === 'PartiallyFailed';
}

const Facts = ({ backup }: { backup: BackupDetail }) => {
  const classes = useStyles();
  const rows: Array<[string, string]> = [
    ['Type', backup.kind === 'full' ? 'Full' : 'Incremental'],
    ['Started', new Date(backup.createdAt).toLocaleString()],
    ['Duration', formatDuration(backup.createdAt, backup.completedAt)],
    ['Logical size', formatBytes(backup.logicalBytes)],
    ['Stored size', formatBytes(backup.storedBytes)],
    ['Source', `${backup.cluster} / ${backup.namespace}`],
    ['Target', backup.target],
    ['Policy', backup.policy ?? '—'],
    ['Started by', formatTrigger(backup.trigger)],
    ['Resource', backup.resourceName],
  ];
  return (
    <Box className={classes.facts}>
      {rows.map(([label, value]) => (
        <Box key={label} display="contents">
          <Typography variant="body2" color="textSecondary">
            {label}
          </Typography>
          <Typography variant="body2">{value}</Typography>
        </Box>
      ))}
    </Box>
  );
};

/** Everything about one backup, live while it runs; restore and delete from here. */
export const BackupDetailDrawer = (props: {
  entity: Entity;
  backupId?: string;
  onClose: () => void;
  onRestore: (backup: BackupDetail) => void;
  onDeleted: () => void;
}) => {
  const classes = useStyles();
  const api = useApi(backupApiRef);
  const entityRef = useMemo(() => getCompoundEntityRef(props.entity), [props.entity]);
  const id = props.backupId ?? '';
  const live = useLiveOperation({
    key: id,
    load: () => (id ? api.getBackup(entityRef, id) : new Promise<never>(() => {})),
    stream: options => api.streamBackup(entityRef, id, options),
  });
  const restore = useActionPermission({
    permission: backupRestorePermission,
    entity: props.entity,
    action: 'restore',
  });
  const remove = useActionPermission({
    permission: backupDeletePermission,
    entity: props.entity,
    action: 'delete backups of',
  });
  const [confirmDelete, setConfirmDelete] = useState(false);
  const backup = live.value?.id === id ? live.value : undefined;

  let restoreReason = restore.reason;
  let deleteReason = remove.reason;
  if (backup && !restoreReason && !isRestorable(backup)) {
    restoreReason = isTerminalPhase(backup.phase)
      ? 'A failed backup cannot be restored.'
      : 'The backup is still running.';
  }
  if (backup && !deleteReason && !backup.deletion.allowed) {
    deleteReason = backup.deletion.reason ?? 'This backup cannot be deleted now.';
  }

  return (
    <Drawer
      anchor="right"
      open={Boolean(props.backupId)}
      onClose={props.onClose}
      classes={{ paper: classes.paper }}
    >
      <Box className={classes.header}>
        <Typography variant="h5">Backup {id}</Typography>
        <IconButton aria-label="close" onClick={props.onClose}>
          <CloseIcon />
        </IconButton>
      </Box>
      {live.error && <ApiErrorPanel error={live.error} />}
      {!live.error && !backup && <Progress />}
      {backup && (
        <>
          <PhaseChip phase={backup.phase} />
          <Facts backup={backup} />
          {isTerminalPhase(backup.phase) && <BackupProtection protection={backup.protection} />}
          <Box className={classes.actions}>
            <PermissionTooltip reason={restoreReason}>
              <Button
                variant="contained"
                color="primary"
                startIcon={<RestoreIcon />}
                disabled={Boolean(restoreReason)}
                onClick={() => props.onRestore(backup)}
              >
                Restore…
              </Button>
            </PermissionTooltip>
            <PermissionTooltip reason={deleteReason}>
              <Button
                variant="outlined"
                startIcon={<DeleteIcon />}
                disabled={Boolean(deleteReason)}
                onClick={() => setConfirmDelete(true)}
              >
                Delete
              </Button>
            </PermissionTooltip>
          </Box>
          <FailureList phase={backup.phase} failures={backup.failures} message={backup.message} />
          {!isTerminalPhase(backup.phase) && (
            <DetailSection title="Progress">
              <OperationProgress
                step={backup.step}
                volumes={backup.volumes}
                timeline={backup.timeline}
                mode={live.mode}
              />
            </DetailSection>
          )}
          <DetailSection title="Volumes" count={backup.volumes.length}>
            <BackupVolumes backup={backup} />
          </DetailSection>
          <DetailSection title="Resources" count={backup.resources.length}>
            <BackupResources backup={backup} />
          </DetailSection>
          <DetailSection title="Images" count={backup.images.length}>
            <BackupImages backup={backup} />
          </DetailSection>
          <DetailSection title="Hooks" count={backup.hooks.length}>
            <BackupHooks backup={backup} />
          </DetailSection>
          {isTerminalPhase(backup.phase) && (
            <DetailSection title="Timeline">
              <OperationTimeline timeline={backup.timeline} />
            </DetailSection>
          )}
          <DeleteBackupDialog
            entityRef={entityRef}
            backup={backup}
            open={confirmDelete}
            onClose={() => setConfirmDelete(false)}
            onDeleted={() => {
              setConfirmDelete(false);
              props.onDeleted();
            }}
          />
        </>
      )}
    </Drawer>
  );
};
