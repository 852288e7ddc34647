import { Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@material-ui/core';
import { StatusError, StatusOK, StatusPending, StatusWarning } from '@backstage/core-components';
import type { RestoredObject } from '@ferry/plugin-backup-common';

const Outcome = ({ outcome }: { outcome: RestoredObject['outcome'] }) => {
  switch (outcome) {
    case 'Created':
      return <StatusOK>Created</StatusOK>;
    case 'Patched':
      return <StatusOK>Patched</StatusOK>;
    case 'Skipped':
      return <StatusPending>Skipped</StatusPending>;
    case 'Failed':
      return <StatusError>Failed</StatusError>;
    default:
      return <StatusWarning>{outcome}</StatusWarning>;
  }
};

/** The outcome of a restore for each object it applied. */
export const RestoredObjects = ({ objects }: { objects: RestoredObject[] }) => {
  if (objects.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No objects applied yet.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="restored objects">
      <TableHead>
        <TableRow>
          <TableCell>Outcome</TableCell>
          <TableCell>Kind</TableCell>
          <TableCell>Name</TableCell>
          <TableCell>Reason</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {objects.map(object => (
          <TableRow key={`${object.apiVersion}/${object.kind}/${object.namespace}/${object.name}`}>
            <TableCell>
              <Outcome outcome={object.outcome} />
            </TableCell>
            <TableCell>{object.kind}</TableCell>
            <TableCell>
              {object.namespace ? `${object.namespace}/${object.name}` : object.name}
            </TableCell>
            <TableCell>{object.reason ?? ''}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
};
