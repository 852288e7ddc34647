import {
  makeStyles,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
} from '@material-ui/core';
import { StatusError, StatusOK, StatusPending, StatusWarning } from '@backstage/core-components';
import type { RestoredImage } from '@ferry/plugin-backup-common';
import { shortDigest } from '../format';

const useStyles = makeStyles({
  mono: { fontFamily: 'monospace', fontSize: '0.8rem', overflowWrap: 'anywhere' },
  image: { fontFamily: 'monospace', fontSize: '0.8rem', overflowWrap: 'anywhere', width: '40%' },
  nowrap: { whiteSpace: 'nowrap' },
});

/** `name:tag@sha256:<64 hex>` with the digest shortened; the full reference in a tooltip. */
const Reference = ({ reference }: { reference: string }) => {
  const classes = useStyles();
  const at = reference.indexOf('@');
  const short = at < 0 ? reference : `${reference.slice(0, at)}@${shortDigest(reference.slice(at + 1))}`;
  return (
    <Tooltip title={reference}>
      <span className={classes.mono}>{short}</span>
    </Tooltip>
  );
};

const Outcome = ({ image }: { image: RestoredImage }) => {
  switch (image.action) {
    case 'original':
      return <StatusOK>Original kept</StatusOK>;
    case 'push':
      return image.restored ? <StatusOK>Pushed</StatusOK> : <StatusPending>To push</StatusPending>;
    case 'unavailable':
      return <StatusError>Unavailable</StatusError>;
    default:
      return <StatusWarning>{image.action}</StatusWarning>;
  }
};

const Details = ({ image }: { image: RestoredImage }) => {
  if (image.restored) {
    return (
      <>
        <Typography variant="body2">
          Workloads run <Reference reference={image.restored} />
        </Typography>
        {image.tagChanged && (
          <Typography variant="body2" color="textSecondary">
            Pushed under a new tag: the original tag already named another image in the registry.
          </Typography>
        )}
        {image.reason && (
          <Typography variant="body2" color="textSecondary">
            Original unreachable: {image.reason}
          </Typography>
        )}
      </>
    );
  }
  return <>{image.reason ?? ''}</>;
};

/** What a restore did about each image its workloads run: kept, pushed (and where) or unavailable. */
export const RestoredImages = ({ images, finished }: { images: RestoredImage[]; finished: boolean }) => {
  const classes = useStyles();
  if (images.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        {finished ? 'The restored workloads run no container images.' : 'No images checked yet.'}
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="restored images">
      <TableHead>
        <TableRow>
          <TableCell>Outcome</TableCell>
          <TableCell>Image</TableCell>
          <TableCell>Details</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {images.map(image => (
          <TableRow key={image.image}>
            <TableCell className={classes.nowrap}>
              <Outcome image={image} />
            </TableCell>
            <TableCell className={classes.image}>{image.image}</TableCell>
            <TableCell>
              <Details image={image} />
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
};
