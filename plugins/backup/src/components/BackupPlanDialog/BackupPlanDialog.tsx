import { Entity, getCompoundEntityRef } from '@backstage/catalog-model';
import { Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  Box,
  Button,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@material-ui/core';
import { Alert, AlertTitle } from '@material-ui/lab';
import type { BackupPlan } from '@ferry/plugin-backup-common';
import useAsync from 'react-use/esm/useAsync';
import { backupApiRef } from '../../api/BackupApi';
import { ApiErrorPanel } from '../ApiErrorPanel';
import { DetailSection } from '../DetailSection';
import { formatBytes } from '../format';

const sourceLabels: Record<BackupPlan['resources'][number]['source'], string> = {
  helm: 'Helm release',
  selector: 'label selector',
  namespace: 'namespace',
  'claim-template': 'volume claim template',
};

function describeApplication(plan: BackupPlan): string {
  const parts = [
    ...plan.application.helmReleases.map(release => `Helm release ${release}`),
    ...plan.application.labelSelectors.map(selector => `resources labelled ${selector}`),
    ...(plan.application.wholeNamespace ? [`every resource of namespace ${plan.namespace}`] : []),
  ];
  return parts.join(', ');
}

const PlanBody = ({ plan }: { plan: BackupPlan }) => (
  <>
    <Typography variant="body2" gutterBottom>
      {describeApplication(plan)} in <strong>{plan.cluster} / {plan.namespace}</strong>, stored on
      target <strong>{plan.target}</strong>
      {plan.policy ? (
        <>
          {' '}
          under policy <strong>{plan.policy}</strong>
        </>
      ) : null}
      .
    </Typography>
    {plan.warnings.length > 0 && (
      <Box my={2}>
        <Alert severity="warning">
          <AlertTitle>Warnings</AlertTitle>
          <ul>
            {plan.warnings.map(warning => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </Alert>
      </Box>
    )}
    <DetailSection title="Volumes" count={plan.volumes.length}>
      {plan.volumes.length === 0 ? (
        <Typography variant="body2" color="textSecondary">
          No PersistentVolumeClaims: only resources are backed up.
        </Typography>
      ) : (
        <Table size="small" aria-label="planned volumes">
          <TableHead>
            <TableRow>
              <TableCell>Claim</TableCell>
              <TableCell>Size</TableCell>
              <TableCell>Mode</TableCell>
              <TableCell>Storage class</TableCell>
              <TableCell>Snapshot class</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {plan.volumes.map(volume => (
              <TableRow key={volume.pvc}>
                <TableCell>{volume.pvc}</TableCell>
                <TableCell>{formatBytes(volume.sizeBytes)}</TableCell>
                <TableCell>{volume.volumeMode}</TableCell>
                <TableCell>{volume.storageClass ?? '—'}</TableCell>
                <TableCell>{volume.volumeSnapshotClass ?? 'none'}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </DetailSection>
    <DetailSection title="Resources" count={plan.resources.length}>
      <Table size="small" aria-label="planned resources">
        <TableHead>
          <TableRow>
            <TableCell>Kind</TableCell>
            <TableCell>Name</TableCell>
            <TableCell>Included as</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {plan.resources.map(resource => (
            <TableRow key={`${resource.apiVersion}/${resource.kind}/${resource.namespace}/${resource.name}`}>
              <TableCell>{resource.kind}</TableCell>
              <TableCell>{resource.name}</TableCell>
              <TableCell>{sourceLabels[resource.source]}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </DetailSection>
    <DetailSection title="Images" count={plan.images.length}>
      <Box display="flex" flexWrap="wrap" style={{ gap: 8 }}>
        {plan.images.map(image => (
          <Chip key={image} size="small" variant="outlined" label={image} />
        ))}
      </Box>
    </DetailSection>
  </>
);

/** What a backup of the entity would contain now, resolved live from the cluster. */
export const BackupPlanDialog = (props: { entity: Entity; onClose: () => void }) => {
  const api = useApi(backupApiRef);
  const { value, loading, error } = useAsync(
    () => api.getPlan(getCompoundEntityRef(props.entity)),
    [api, props.entity],
  );
  return (
    <Dialog open onClose={props.onClose} maxWidth="md" fullWidth aria-labelledby="plan-title">
      <DialogTitle id="plan-title">What a backup contains</DialogTitle>
      <DialogContent dividers>
        {error && <ApiErrorPanel error={error} />}
        {loading && <Progress />}
        {value && <PlanBody plan={value} />}
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onClose} color="primary">
          Close
        </Button>
      </DialogActions>
    </Dialog>
  );
};
