import { StatusError, StatusOK } from '@backstage/core-components';
import { Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@material-ui/core';
import type { PlatformOverview } from '@ferry/plugin-backup-common';
import { formatBytes } from '../format';
import { TargetProtection } from './TargetProtection';

/** Backup targets with their health, how they protect what they store, and the capacity they use. */
export const TargetsTable = ({ targets }: { targets: PlatformOverview['targets'] }) => {
  if (targets.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No targets configured: add one under ferry.targets in app-config.yaml.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="targets">
      <TableHead>
        <TableRow>
          <TableCell>Target</TableCell>
          <TableCell>Type</TableCell>
          <TableCell>Health</TableCell>
          <TableCell>Protection</TableCell>
          <TableCell align="right">Used</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {targets.map(target => (
          <TableRow key={target.name}>
            <TableCell>{target.name}</TableCell>
            <TableCell>{target.type === 's3' ? 'S3' : 'Filesystem'}</TableCell>
            <TableCell>
              {target.healthy ? <StatusOK>Healthy</StatusOK> : <StatusError>Unhealthy</StatusError>}
              {target.message && (
                <Typography variant="caption" display="block" color="textSecondary">
                  {target.message}
                </Typography>
              )}
            </TableCell>
            <TableCell>
              <TargetProtection protection={target.protection} />
            </TableCell>
            <TableCell align="right">{formatBytes(target.usedBytes)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
};
