import { Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@material-ui/core';
import type { PlatformOverview } from '@ferry/plugin-backup-common';
import { formatRelative } from '../format';

/** Backup policies: where, when, how long, how often a full backup, compressed or not. */
export const PoliciesTable = ({ policies }: { policies: PlatformOverview['policies'] }) => {
  if (policies.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No policies configured: add one under ferry.policies in app-config.yaml.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="policies">
      <TableHead>
        <TableRow>
          <TableCell>Policy</TableCell>
          <TableCell>Target</TableCell>
          <TableCell>Schedule</TableCell>
          <TableCell>Next run</TableCell>
          <TableCell>Keep last</TableCell>
          <TableCell>Full every</TableCell>
          <TableCell>Images</TableCell>
          <TableCell>Compression</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {policies.map(policy => (
          <TableRow key={policy.name}>
            <TableCell>{policy.name}</TableCell>
            <TableCell>{policy.target}</TableCell>
            <TableCell>
              <code>{policy.schedule ?? 'manual'}</code>
            </TableCell>
            <TableCell title={policy.nextRun ? new Date(policy.nextRun).toLocaleString() : undefined}>
              {policy.nextRun ? formatRelative(policy.nextRun) : '—'}
            </TableCell>
            <TableCell>{policy.keepLast ?? 'all'}</TableCell>
            <TableCell>
              {policy.fullEvery <= 1 ? 'every backup' : `${policy.fullEvery} backups`}
            </TableCell>
            <TableCell>{policy.skipImageBackup ? 'skipped' : 'backed up'}</TableCell>
            <TableCell>{policy.compression ?? 'none'}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
};
