import {
  Chip,
  makeStyles,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
} from '@material-ui/core';
import ArrowForwardIcon from '@material-ui/icons/ArrowForward';
import type { BackupDetail } from '@ferry/plugin-backup-common';
import { formatBytes, shortDigest } from '../format';

const useStyles = makeStyles(theme => ({
  scroll: { maxHeight: 320 },
  chain: { display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: theme.spacing(0.5) },
  arrow: { fontSize: 14, color: theme.palette.text.secondary },
  mono: { fontFamily: 'monospace', fontSize: '0.8rem' },
  nowrap: { whiteSpace: 'nowrap' },
}));

const Empty = ({ text }: { text: string }) => (
  <Typography variant="body2" color="textSecondary">
    {text}
  </Typography>
);

/** A volume's chain: the full backup first, then each incremental, this backup last. */
export const VolumeChain = (props: { chain: string[]; current: string }) => {
  const classes = useStyles();
  return (
    <span className={classes.chain} aria-label="chain">
      {props.chain.map((id, index) => (
        <span key={id} className={classes.chain}>
          {index > 0 && <ArrowForwardIcon className={classes.arrow} />}
          <Chip
            size="small"
            variant={id === props.current ? 'default' : 'outlined'}
            color={id === props.current ? 'primary' : 'default'}
            label={index === 0 ? `${id} (full)` : id}
          />
        </span>
      ))}
    </span>
  );
};

export const BackupVolumes = ({ backup }: { backup: BackupDetail }) => {
  const classes = useStyles();
  if (backup.volumes.length === 0) return <Empty text="This application has no volumes." />;
  return (
    <TableContainer>
      <Table size="small" aria-label="volumes">
        <TableHead>
          <TableRow>
            <TableCell>Claim</TableCell>
            <TableCell>Type</TableCell>
            <TableCell>Size</TableCell>
            <TableCell>Stored</TableCell>
            <TableCell>Chain</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {backup.volumes.map(volume => (
            <TableRow key={volume.pvc}>
              <TableCell className={classes.nowrap}>{volume.pvc}</TableCell>
              <TableCell className={classes.nowrap}>
                {(volume.type ?? backup.kind) === 'full' ? 'Full' : 'Incremental'}
              </TableCell>
              <TableCell className={classes.nowrap}>{formatBytes(volume.bytesTotal)}</TableCell>
              <TableCell className={classes.nowrap}>{formatBytes(volume.storedBytes)}</TableCell>
              <TableCell>
                {volume.chain && volume.chain.length > 0 ? (
                  <VolumeChain chain={volume.chain} current={backup.id} />
                ) : (
                  '—'
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
};

export const BackupResources = ({ backup }: { backup: BackupDetail }) => {
  const classes = useStyles();
  if (backup.resources.length === 0) return <Empty text="No resources recorded yet." />;
  return (
    <TableContainer className={classes.scroll}>
      <Table size="small" stickyHeader aria-label="resources">
        <TableHead>
          <TableRow>
            <TableCell>Kind</TableCell>
            <TableCell>Name</TableCell>
            <TableCell>API version</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {backup.resources.map(resource => (
            <TableRow key={`${resource.apiVersion}/${resource.kind}/${resource.namespace}/${resource.name}`}>
              <TableCell>{resource.kind}</TableCell>
              <TableCell>{resource.name}</TableCell>
              <TableCell className={classes.mono}>{resource.apiVersion}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
};

export const BackupImages = ({ backup }: { backup: BackupDetail }) => {
  const classes = useStyles();
  if (backup.images.length === 0) return <Empty text="The backed-up workloads run no container images." />;
  return (
    <Table size="small" aria-label="images">
      <TableHead>
        <TableRow>
          <TableCell>Image</TableCell>
          <TableCell>Digest</TableCell>
          <TableCell>Copy</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {backup.images.map(image => (
          <TableRow key={image.image}>
            <TableCell className={classes.mono}>{image.image}</TableCell>
            <TableCell className={`${classes.mono} ${classes.nowrap}`}>
              {image.digest ? (
                <Tooltip title={image.digest}>
                  <span>{shortDigest(image.digest)}</span>
                </Tooltip>
              ) : (
                '—'
              )}
            </TableCell>
            <TableCell className={classes.nowrap}>
              <Chip
                size="small"
                variant={image.stored ? 'default' : 'outlined'}
                color={image.stored ? 'primary' : 'default'}
                label={image.stored ? 'Stored' : 'Not stored'}
              />
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
};
