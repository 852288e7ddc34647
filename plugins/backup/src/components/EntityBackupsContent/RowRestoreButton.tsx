import type { Entity } from '@backstage/catalog-model';
import { IconButton } from '@material-ui/core';
import RestoreIcon from '@material-ui/icons/Restore';
import { BackupSummary, backupRestorePermission } from '@ferry/plugin-backup-common';
import { useActionPermission } from '../../hooks/useActionPermission';
import { isRestorable } from '../BackupDetailDrawer';
import { PermissionTooltip } from '../PermissionTooltip';

/** A table row's "Restore" action, disabled with the reason when not possible. */
export const RowRestoreButton = (props: {
  entity: Entity;
  backup: BackupSummary;
  onRestore: (backup: BackupSummary) => void;
}) => {
  const permission = useActionPermission({
    permission: backupRestorePermission,
    entity: props.entity,
    action: 'restore',
  });
  let reason = permission.reason;
  if (!reason && !isRestorable(props.backup)) {
    reason =
      props.backup.phase === 'Failed'
        ? 'A failed backup cannot be restored.'
        : 'The backup is still running.';
  }
  return (
    <PermissionTooltip reason={reason ?? `Restore ${props.backup.id}`}>
      <IconButton
        size="small"
        aria-label={`restore ${props.backup.id}`}
        disabled={Boolean(reason)}
        onClick={event => {
          event.stopPropagation();
          props.onRestore(props.backup);
        }}
      >
        <RestoreIcon />
      </IconButton>
    </PermissionTooltip>
  );
};
