import {
  Box,
  Chip,
  Collapse,
  IconButton,
  makeStyles,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@material-ui/core';
import KeyboardArrowDownIcon from '@material-ui/icons/KeyboardArrowDown';
import KeyboardArrowRightIcon from '@material-ui/icons/KeyboardArrowRight';
import { Alert, AlertTitle } from '@material-ui/lab';
import type { DryRunResult, ObjectChange, RestoreRequest } from '@ferry/plugin-backup-common';
import { Fragment, useState } from 'react';
import { formatBytes } from '../format';
import { ImagePlanTable } from './ImagePlanTable';
import { UnavailableImagesAlert } from './UnavailableImagesAlert';
import { UnifiedDiff } from './UnifiedDiff';

const useStyles = makeStyles(theme => ({
  counts: { display: 'flex', gap: theme.spacing(1), marginBottom: theme.spacing(2) },
  alert: { marginBottom: theme.spacing(2) },
  diffCell: { paddingTop: 0, paddingBottom: 0 },
}));

const actionLabels: Record<ObjectChange['action'], string> = {
  create: 'Create',
  patch: 'Patch',
  skip: 'Skip',
};

const ObjectRow = ({ change }: { change: ObjectChange }) => {
  const classes = useStyles();
  const [open, setOpen] = useState(false);
  const name = `${change.kind} ${change.name}`;
  return (
    <Fragment>
      <TableRow>
        <TableCell padding="checkbox">
          {change.diff ? (
            <IconButton
              size="small"
              aria-label={`${open ? 'hide' : 'show'} diff of ${name}`}
              onClick={() => setOpen(!open)}
            >
              {open ? <KeyboardArrowDownIcon /> : <KeyboardArrowRightIcon />}
            </IconButton>
          ) : null}
        </TableCell>
        <TableCell>
          <Chip
            size="small"
            label={actionLabels[change.action]}
            color={change.action === 'create' ? 'primary' : 'default'}
            variant={change.action === 'skip' ? 'outlined' : 'default'}
          />
        </TableCell>
        <TableCell>{change.kind}</TableCell>
        <TableCell>{change.namespace ? `${change.namespace}/${change.name}` : change.name}</TableCell>
        <TableCell>{change.reason ?? ''}</TableCell>
      </TableRow>
      {change.diff && (
        <TableRow>
          <TableCell className={classes.diffCell} colSpan={5}>
            <Collapse in={open} unmountOnExit>
              <Box my={1}>
                <UnifiedDiff diff={change.diff} />
              </Box>
            </Collapse>
          </TableCell>
        </TableRow>
      )}
    </Fragment>
  );
};

/**
 * What a restore would do, from its dry run: objects with diffs, volumes, images (use the
 * original, push the backed-up copy, or unavailable), warnings.
 */
export const DryRunPreview = (props: {
  result: DryRunResult;
  /** The image restore of the request that was dry-run, if any. */
  imageRestore?: RestoreRequest['imageRestore'];
  /** Goes back to the step where image restore is configured. */
  onConfigureImageRestore?: () => void;
}) => {
  const classes = useStyles();
  const { result } = props;
  const count = (action: ObjectChange['action']) =>
    result.objects.filter(o => o.action === action).length;
  const unavailable = result.images.filter(i => i.action === 'unavailable');
  // The backend also words each unavailable image as a warning; the images alert says it already.
  const warnings = result.warnings.filter(
    warning => !unavailable.some(i => warning.startsWith(`image ${i.image} `)),
  );
  return (
    <Box>
      <Typography variant="body2" gutterBottom>
        Restoring backup <strong>{result.backupId}</strong> into{' '}
        <strong>
          {result.cluster} / {result.namespace}
        </strong>{' '}
        would:
      </Typography>
      <Box className={classes.counts}>
        <Chip color="primary" label={`${count('create')} to create`} />
        <Chip label={`${count('patch')} to patch`} />
        <Chip variant="outlined" label={`${count('skip')} to skip`} />
        <Chip variant="outlined" label={`${result.volumes.length} volumes`} />
        <Chip variant="outlined" label={`${result.images.length} images`} />
      </Box>
      <UnavailableImagesAlert
        images={result.images}
        imageRestoreEnabled={Boolean(props.imageRestore)}
        onConfigureImageRestore={props.onConfigureImageRestore}
        className={classes.alert}
      />
      {warnings.length > 0 && (
        <Alert severity="warning" className={classes.alert}>
          <AlertTitle>Warnings</AlertTitle>
          <ul>
            {warnings.map(warning => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </Alert>
      )}
      <Typography variant="subtitle2">Objects</Typography>
      <Table size="small" aria-label="objects">
        <TableHead>
          <TableRow>
            <TableCell padding="checkbox" />
            <TableCell>Action</TableCell>
            <TableCell>Kind</TableCell>
            <TableCell>Name</TableCell>
            <TableCell>Reason</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {result.objects.map(change => (
            <ObjectRow
              key={`${change.apiVersion}/${change.kind}/${change.namespace}/${change.name}`}
              change={change}
            />
          ))}
        </TableBody>
      </Table>
      {result.volumes.length > 0 && (
        <Box mt={2}>
          <Typography variant="subtitle2">Volumes</Typography>
          <Table size="small" aria-label="restored volumes">
            <TableHead>
              <TableRow>
                <TableCell>Claim</TableCell>
                <TableCell>Storage class</TableCell>
                <TableCell>Size</TableCell>
                <TableCell>Action</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {result.volumes.map(volume => (
                <TableRow key={volume.pvc}>
                  <TableCell>{volume.pvc}</TableCell>
                  <TableCell>{volume.storageClass}</TableCell>
                  <TableCell>{formatBytes(volume.sizeBytes)}</TableCell>
                  <TableCell>{volume.action === 'create' ? 'Hydrate into a new volume' : 'Skip'}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Box>
      )}
      <Box mt={2}>
        <Typography variant="subtitle2">Images</Typography>
        <ImagePlanTable images={result.images} registry={props.imageRestore?.registry} />
      </Box>
    </Box>
  );
};
