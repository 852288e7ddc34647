import type { CompoundEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
} from '@material-ui/core';
import type { BackupDetail } from '@ferry/plugin-backup-common';
import { useState } from 'react';
import { backupApiRef } from '../../api/BackupApi';
import { ApiErrorPanel } from '../ApiErrorPanel';

/** Asks before deleting a backup; shows the backend's refusal (409: retention, chain) if any. */
export const DeleteBackupDialog = (props: {
  entityRef: CompoundEntityRef;
  backup: BackupDetail;
  open: boolean;
  onClose: () => void;
  onDeleted: () => void;
}) => {
  const api = useApi(backupApiRef);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const remove = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.deleteBackup(props.entityRef, props.backup.id);
      props.onDeleted();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={props.open} onClose={props.onClose} aria-labelledby="delete-backup-title">
      <DialogTitle id="delete-backup-title">Delete backup {props.backup.id}?</DialogTitle>
      <DialogContent>
        <DialogContentText>
          Its resources, volume images and image index are removed from target{' '}
          <strong>{props.backup.target}</strong>. Backups that depend on its volume images keep
          working. This cannot be undone.
        </DialogContentText>
        {error && <ApiErrorPanel error={error} />}
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onClose} disabled={busy}>
          Cancel
        </Button>
        <Button color="secondary" variant="contained" onClick={remove} disabled={busy}>
          Delete
        </Button>
      </DialogActions>
    </Dialog>
  );
};
