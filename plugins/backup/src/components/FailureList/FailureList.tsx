import { List, ListItem, ListItemText } from '@material-ui/core';
import { Alert, AlertTitle } from '@material-ui/lab';
import type { OperationFailure, OperationPhase } from '@ferry/plugin-backup-common';

/** Why a backup or restore failed or partially failed: one line per failed item. */
export const FailureList = (props: {
  phase: OperationPhase;
  failures: OperationFailure[];
  message?: string;
}) => {
  if (props.failures.length === 0 && !(props.phase === 'Failed' && props.message)) {
    return null;
  }
  const severity = props.phase === 'Failed' ? 'error' : 'warning';
  const title =
    props.phase === 'Failed'
      ? 'Failed'
      : `${props.failures.length} item${props.failures.length === 1 ? '' : 's'} failed`;
  return (
    <Alert severity={severity} role="alert">
      <AlertTitle>{title}</AlertTitle>
      {props.message}
      {props.failures.length > 0 && (
        <List dense disablePadding>
          {props.failures.map((failure, index) => (
            <ListItem key={`${failure.kind}-${failure.name}-${index}`} disableGutters>
              <ListItemText
                primary={`${failure.kind} ${failure.name}`}
                secondary={failure.reason}
              />
            </ListItem>
          ))}
        </List>
      )}
    </Alert>
  );
};
