import { makeStyles, Typography } from '@material-ui/core';
import type { TimelineEntry } from '@ferry/plugin-backup-common';

const useStyles = makeStyles(theme => ({
  list: { listStyle: 'none', margin: 0, padding: 0 },
  item: {
    position: 'relative',
    paddingLeft: theme.spacing(3),
    paddingBottom: theme.spacing(1),
    borderLeft: `2px solid ${theme.palette.divider}`,
    marginLeft: theme.spacing(0.75),
    '&:last-child': { borderLeftColor: 'transparent' },
    '&::before': {
      content: '""',
      position: 'absolute',
      left: -7,
      top: 3,
      width: 12,
      height: 12,
      borderRadius: '50%',
      background: theme.palette.primary.main,
    },
  },
  time: { color: theme.palette.text.secondary, marginRight: theme.spacing(1) },
}));

/** The steps an operation went through, oldest first. */
export const OperationTimeline = ({ timeline }: { timeline: TimelineEntry[] }) => {
  const classes = useStyles();
  if (timeline.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        Nothing has happened yet.
      </Typography>
    );
  }
  return (
    <ol className={classes.list} aria-label="timeline">
      {timeline.map((entry, index) => (
        <li key={`${entry.time}-${index}`} className={classes.item}>
          <Typography variant="body2">
            <span className={classes.time}>{new Date(entry.time).toLocaleTimeString()}</span>
            <strong>{entry.step}</strong> — {entry.message}
          </Typography>
        </li>
      ))}
    </ol>
  );
};
