import {
  Chip,
  makeStyles,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@material-ui/core';
import type { RestoreImagePlan } from '@ferry/plugin-backup-common';

const useStyles = makeStyles(theme => ({
  image: { fontFamily: 'monospace', fontSize: '0.8rem', overflowWrap: 'anywhere', width: '30%' },
  nowrap: { whiteSpace: 'nowrap' },
  unavailable: {
    backgroundColor: theme.palette.error.main,
    color: theme.palette.error.contrastText,
  },
}));

/** The words for an image's action in the dry run; `registry` is where image restore pushes. */
export function imageActionLabel(action: RestoreImagePlan['action'], registry?: string): string {
  switch (action) {
    case 'original':
      return 'Use original';
    case 'push':
      return registry ? `Push to ${registry}` : 'Push';
    default:
      return 'Unavailable';
  }
}

/** What a restore would do about each image its workloads run (from the dry run). */
export const ImagePlanTable = (props: { images: RestoreImagePlan[]; registry?: string }) => {
  const classes = useStyles();
  if (props.images.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        The restored workloads run no container images.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="images">
      <TableHead>
        <TableRow>
          <TableCell>Image</TableCell>
          <TableCell>Action</TableCell>
          <TableCell className={classes.nowrap}>Backup copy</TableCell>
          <TableCell>Reason</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {props.images.map(plan => (
          <TableRow key={plan.image}>
            <TableCell className={classes.image}>{plan.image}</TableCell>
            <TableCell className={classes.nowrap}>
              <Chip
                size="small"
                label={imageActionLabel(plan.action, props.registry)}
                color={plan.action === 'push' ? 'primary' : 'default'}
                variant={plan.action === 'original' ? 'outlined' : 'default'}
                className={plan.action === 'unavailable' ? classes.unavailable : undefined}
              />
            </TableCell>
            <TableCell className={classes.nowrap}>{plan.stored ? 'Stored' : 'Not stored'}</TableCell>
            <TableCell>{plan.reason ?? ''}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
};
