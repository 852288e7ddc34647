import { makeStyles } from '@material-ui/core';

const useStyles = makeStyles(theme => ({
  pre: {
    margin: 0,
    padding: theme.spacing(1),
    fontFamily: 'monospace',
    fontSize: 12,
    lineHeight: 1.5,
    overflowX: 'auto',
    maxHeight: 360,
    background: theme.palette.background.default,
    borderRadius: theme.shape.borderRadius,
  },
  add: { background: 'rgba(46, 160, 67, 0.18)', display: 'block' },
  del: { background: 'rgba(248, 81, 73, 0.18)', display: 'block' },
  hunk: { color: theme.palette.info.main, display: 'block' },
  line: { display: 'block' },
}));

/** A unified diff with added/removed lines coloured. */
export const UnifiedDiff = ({ diff }: { diff: string }) => {
  const classes = useStyles();
  return (
    <pre className={classes.pre} aria-label="diff">
      {diff.split('\n').map((line, index) => {
        let className = classes.line;
        if (line.startsWith('@@')) className = classes.hunk;
        else if (line.startsWith('+') && !line.startsWith('+++')) className = classes.add;
        else if (line.startsWith('-') && !line.startsWith('---')) className = classes.del;
        return (
          <span key={index} className={className}>
            {line || ' '}
          </span>
        );
      })}
    </pre>
  );
};
