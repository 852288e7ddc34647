import { getCompoundEntityRef } from '@backstage/catalog-model';
import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import type { ResponseError } from '@backstage/errors';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Box, Tooltip, Typography } from '@material-ui/core';
import {
  APPLICATION_ANNOTATIONS,
  EntityBackupStatus,
  isBackupAvailable,
} from '@ferry/plugin-backup-common';
import useAsync from 'react-use/esm/useAsync';
import { backupApiRef } from '../../api/BackupApi';
import { useEntityTabLink } from '../../hooks/useEntityTabLink';
import { ApiErrorPanel } from '../ApiErrorPanel';
import { formatRelative } from '../format';
import { ProtectionStatus } from './ProtectionStatus';

function isForbidden(error: Error): boolean {
  return error.name === 'ResponseError' && (error as ResponseError).statusCode === 403;
}

const Fact = (props: { label: string; value: string; title?: string }) => (
  <Box display="flex" justifyContent="space-between" py={0.5}>
    <Typography variant="body2" color="textSecondary">
      {props.label}
    </Typography>
    <Tooltip title={props.title ?? ''}>
      <Typography variant="body2">{props.value}</Typography>
    </Tooltip>
  </Box>
);

const StatusBody = ({ status }: { status: EntityBackupStatus }) => {
  const last = status.lastSuccessfulBackup;
  return (
    <>
      <Box mb={2}>
        <Typography variant="h6" component="div">
          <ProtectionStatus state={status.protection} />
        </Typography>
        <Typography variant="body2" color="textSecondary">
          {status.reason}
        </Typography>
      </Box>
      <Fact
        label="Last successful backup"
        value={
          last?.completedAt
            ? `${formatRelative(last.completedAt)} (${last.kind})`
            : 'None yet'
        }
        title={last?.completedAt ? new Date(last.completedAt).toLocaleString() : undefined}
      />
      <Fact
        label="Next scheduled run"
        value={status.nextScheduledRun ? formatRelative(status.nextScheduledRun) : 'Not scheduled'}
        title={
          status.nextScheduledRun ? new Date(status.nextScheduledRun).toLocaleString() : undefined
        }
      />
      <Fact label="Policy" value={status.policy ?? 'None'} />
      {status.running && (
        <Fact label="Running now" value={`Backup ${status.running.id} (${status.running.phase})`} />
      )}
    </>
  );
};

/** Overview card: is this component protected, when was it last backed up, when is the next run. */
export const EntityBackupStatusCard = () => {
  const { entity } = useEntity();
  const api = useApi(backupApiRef);
  const backupsLink = useEntityTabLink(entity, 'backups');
  const available = isBackupAvailable(entity);
  const { value, loading, error } = useAsync(
    async () => (available ? api.getStatus(getCompoundEntityRef(entity)) : undefined),
    [api, entity, available],
  );
  let body: JSX.Element;
  if (!available) {
    body = (
      <Typography variant="body2">
        Ferry does not know what to back up. Annotate this entity with one of{' '}
        {APPLICATION_ANNOTATIONS.map(a => `${a}`).join(', ')}.
      </Typography>
    );
  } else if (error && isForbidden(error)) {
    // Owners see the card; for everybody else a red panel on the overview would be noise.
    body = (
      <Typography variant="body2" color="textSecondary">
        {(error as ResponseError).cause.message}
      </Typography>
    );
  } else if (error) {
    body = <ApiErrorPanel error={error} />;
  } else if (loading || !value) {
    body = <Progress />;
  } else {
    body = <StatusBody status={value} />;
  }
  return (
    <InfoCard
      title="Backups"
      deepLink={available ? { title: 'View backups', link: backupsLink } : undefined}
    >
      {body}
    </InfoCard>
  );
};
