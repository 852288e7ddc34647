import { Grid, Typography } from '@material-ui/core';
import type { TimelineEntry, VolumeProgress } from '@ferry/plugin-backup-common';
import type { LiveMode } from '../../hooks/useLiveOperation';
import { OperationTimeline } from './OperationTimeline';
import { VolumeProgressList } from './VolumeProgressList';

const liveLabels: Record<LiveMode, string> = {
  stream: 'Live',
  polling: 'Refreshing every 2 s',
  idle: '',
};

/** Volume progress bars beside the phase timeline of a backup or restore. */
export const OperationProgress = (props: {
  step?: string;
  volumes: VolumeProgress[];
  timeline: TimelineEntry[];
  mode?: LiveMode;
}) => (
  <Grid container spacing={3}>
    <Grid item xs={12} md={7}>
      <Typography variant="subtitle2" gutterBottom>
        Volumes{props.step ? ` — step: ${props.step}` : ''}
        {props.mode && props.mode !== 'idle' && (
          <Typography component="span" variant="caption" color="textSecondary">
            {' '}
            ({liveLabels[props.mode]})
          </Typography>
        )}
      </Typography>
      <VolumeProgressList volumes={props.volumes} />
    </Grid>
    <Grid item xs={12} md={5}>
      <Typography variant="subtitle2" gutterBottom>
        Timeline
      </Typography>
      <OperationTimeline timeline={props.timeline} />
    </Grid>
  </Grid>
);
