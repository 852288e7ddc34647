import { Box, makeStyles, Typography, useTheme } from '@material-ui/core';
import type { PlatformOverview } from '@ferry/plugin-backup-common';
import { formatBytes } from '../format';

type Point = PlatformOverview['storedBytesOverTime'][number];

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 64, right: 16, top: 16, bottom: 28 };

const useStyles = makeStyles(theme => ({
  svg: { width: '100%', height: 'auto', display: 'block' },
  legend: { display: 'flex', gap: theme.spacing(3), marginTop: theme.spacing(1) },
  swatch: {
    display: 'inline-block',
    width: 12,
    height: 12,
    borderRadius: 2,
    marginRight: theme.spacing(1),
    verticalAlign: 'middle',
  },
}));

/** The incremental savings on the latest day: 1 − stored / logical, as a whole percentage. */
export function incrementalSavings(points: Point[]): number | undefined {
  const last = points[points.length - 1];
  if (!last || last.logicalBytes <= 0) return undefined;
  return Math.max(0, Math.round((1 - last.storedBytes / last.logicalBytes) * 100));
}

/**
 * Bytes stored on the targets per day against what full backups alone would have stored: the
 * gap is what incrementals save. Plain SVG: two series do not need a chart library.
 */
export const StoredBytesChart = ({ points }: { points: Point[] }) => {
  const classes = useStyles();
  const theme = useTheme();
  if (points.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No backups stored yet.
      </Typography>
    );
  }
  const max = Math.max(1, ...points.map(p => Math.max(p.logicalBytes, p.storedBytes)));
  const x = (i: number) =>
    PAD.left + (points.length === 1 ? 0.5 : i / (points.length - 1)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / max) * (HEIGHT - PAD.top - PAD.bottom);
  const line = (pick: (p: Point) => number) =>
    points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(pick(p)).toFixed(1)}`).join(' ');
  const area = (pick: (p: Point) => number) =>
    `${line(pick)} L${x(points.length - 1).toFixed(1)},${y(0)} L${x(0).toFixed(1)},${y(0)} Z`;
  const logicalColour = theme.palette.grey[500];
  const storedColour = theme.palette.primary.main;
  const savings = incrementalSavings(points);
  const last = points[points.length - 1];
  const ticks = [0, 0.5, 1];
  return (
    <Box>
      <svg
        className={classes.svg}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Stored bytes over ${points.length} days`}
      >
        {ticks.map(t => (
          <g key={t}>
            <line
              x1={PAD.left}
              x2={WIDTH - PAD.right}
              y1={y(max * t)}
              y2={y(max * t)}
              stroke={theme.palette.divider}
            />
            <text
              x={PAD.left - 8}
              y={y(max * t) + 4}
              textAnchor="end"
              fontSize={11}
              fill={theme.palette.text.secondary}
            >
              {formatBytes(max * t)}
            </text>
          </g>
        ))}
        <path d={area(p => p.logicalBytes)} fill={logicalColour} fillOpacity={0.15} />
        <path d={line(p => p.logicalBytes)} fill="none" stroke={logicalColour} strokeWidth={2} strokeDasharray="4 3" />
        <path d={area(p => p.storedBytes)} fill={storedColour} fillOpacity={0.25} />
        <path d={line(p => p.storedBytes)} fill="none" stroke={storedColour} strokeWidth={2} />
        {points.map((p, i) => (
          <circle key={p.date} cx={x(i)} cy={y(p.storedBytes)} r={2.5} fill={storedColour}>
            <title>{`${p.date}: ${formatBytes(p.storedBytes)} stored, ${formatBytes(p.logicalBytes)} as full backups`}</title>
          </circle>
        ))}
        <text x={x(0)} y={HEIGHT - 8} fontSize={11} fill={theme.palette.text.secondary} textAnchor="start">
          {points[0].date}
        </text>
        {points.length > 1 && (
          <text
            x={x(points.length - 1)}
            y={HEIGHT - 8}
            fontSize={11}
            fill={theme.palette.text.secondary}
            textAnchor="end"
          >
            {last.date}
          </text>
        )}
      </svg>
      <Box className={classes.legend}>
        <Typography variant="body2">
          <span className={classes.swatch} style={{ background: storedColour }} />
          Stored: {formatBytes(last.storedBytes)}
        </Typography>
        <Typography variant="body2">
          <span className={classes.swatch} style={{ background: logicalColour }} />
          As full backups: {formatBytes(last.logicalBytes)}
        </Typography>
        {savings !== undefined && (
          <Typography variant="body2">
            <strong>Incremental savings: {savings}%</strong>
          </Typography>
        )}
      </Box>
    </Box>
  );
};
