import { Box, LinearProgress, makeStyles, Typography } from '@material-ui/core';
import type { VolumeProgress } from '@ferry/plugin-backup-common';
import { formatBytes } from '../format';

const useStyles = makeStyles(theme => ({
  row: { marginBottom: theme.spacing(1.5) },
  head: { display: 'flex', justifyContent: 'space-between', gap: theme.spacing(2) },
  bar: { height: 8, borderRadius: 4, marginTop: theme.spacing(0.5) },
  failed: { color: theme.palette.error.main },
}));

function percent(volume: VolumeProgress): number | undefined {
  if (volume.phase === 'Completed') return 100;
  if (!volume.bytesTotal || volume.bytesDone === undefined) return undefined;
  return Math.min(100, Math.floor((volume.bytesDone / volume.bytesTotal) * 100));
}

/** One progress bar per volume: phase, bytes done of total, percentage. */
export const VolumeProgressList = ({ volumes }: { volumes: VolumeProgress[] }) => {
  const classes = useStyles();
  if (volumes.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No volumes.
      </Typography>
    );
  }
  return (
    <>
      {volumes.map(volume => {
        const value = percent(volume);
        const bytes =
          volume.bytesTotal !== undefined
            ? `${formatBytes(volume.bytesDone ?? 0)} of ${formatBytes(volume.bytesTotal)}`
            : '';
        return (
          <Box key={volume.pvc} className={classes.row}>
            <Box className={classes.head}>
              <Typography variant="body2">
                <strong>{volume.pvc}</strong> · {volume.phase}
                {volume.type ? ` · ${volume.type}` : ''}
              </Typography>
              <Typography variant="body2" color="textSecondary">
                {bytes}
                {value !== undefined ? ` (${value}%)` : ''}
              </Typography>
            </Box>
            <LinearProgress
              className={classes.bar}
              variant={value === undefined ? 'indeterminate' : 'determinate'}
              value={value}
              color={volume.phase === 'Failed' ? 'secondary' : 'primary'}
              aria-label={`${volume.pvc} progress`}
            />
            {volume.reason && (
              <Typography variant="caption" className={classes.failed}>
                {volume.reason}
              </Typography>
            )}
          </Box>
        );
      })}
    </>
  );
};
