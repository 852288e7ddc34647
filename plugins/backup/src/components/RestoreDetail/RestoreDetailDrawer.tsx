import type { CompoundEntityRef } from '@backstage/catalog-model';
import { Box, Drawer, IconButton, makeStyles, Typography } from '@material-ui/core';
import CloseIcon from '@material-ui/icons/Close';
import { RestoreDetailView } from './RestoreDetailView';

const useStyles = makeStyles(theme => ({
  paper: { width: 760, maxWidth: '100vw', padding: theme.spacing(3) },
}));

/** A restore's details in a drawer, opened from the Restores tab. */
export const RestoreDetailDrawer = (props: {
  entityRef: CompoundEntityRef;
  restoreId?: string;
  onClose: () => void;
  onFinished?: () => void;
}) => {
  const classes = useStyles();
  return (
    <Drawer
      anchor="right"
      open={Boolean(props.restoreId)}
      onClose={props.onClose}
      classes={{ paper: classes.paper }}
    >
      <Box display="flex" alignItems="center" justifyContent="space-between">
        <Typography variant="h5">Restore {props.restoreId}</Typography>
        <IconButton aria-label="close" onClick={props.onClose}>
          <CloseIcon />
        </IconButton>
      </Box>
      {props.restoreId && (
        <RestoreDetailView
          entityRef={props.entityRef}
          restoreId={props.restoreId}
          onFinished={props.onFinished}
        />
      )}
    </Drawer>
  );
};
