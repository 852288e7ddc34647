import type { CompoundEntityRef } from '@backstage/catalog-model';
import { Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Box, Typography } from '@material-ui/core';
import { isTerminalPhase, RestoreDetail } from '@ferry/plugin-backup-common';
import { useEffect, useRef } from 'react';
import { backupApiRef } from '../../api/BackupApi';
import { useLiveOperation } from '../../hooks/useLiveOperation';
import { ApiErrorPanel } from '../ApiErrorPanel';
import { DetailSection } from '../DetailSection';
import { FailureList } from '../FailureList';
import { formatDuration, formatTrigger } from '../format';
import { OperationProgress } from '../OperationProgress';
import { PhaseChip } from '../PhaseChip';
import { RestoredImages } from './RestoredImages';
import { RestoredObjects } from './RestoredObjects';

const Facts = ({ restore }: { restore: RestoreDetail }) => (
  <Box
    display="grid"
    style={{ gridTemplateColumns: 'max-content 1fr', columnGap: 16, rowGap: 4 }}
    my={2}
  >
    {(
      [
        ['Backup', restore.backupId],
        ['Into', `${restore.cluster} / ${restore.namespace}`],
        ['Started', new Date(restore.createdAt).toLocaleString()],
        ['Duration', formatDuration(restore.createdAt, restore.completedAt)],
        ['Started by', formatTrigger(restore.trigger)],
        ['Resource', restore.resourceName],
      ] as Array<[string, string]>
    ).map(([label, value]) => (
      <Box key={label} display="contents">
        <Typography variant="body2" color="textSecondary">
          {label}
        </Typography>
        <Typography variant="body2">{value}</Typography>
      </Box>
    ))}
  </Box>
);

/** One restore, live while it runs: progress, failures and the outcome per object and image. */
export const RestoreDetailView = (props: {
  entityRef: CompoundEntityRef;
  restoreId: string;
  onFinished?: () => void;
}) => {
  const api = useApi(backupApiRef);
  const { entityRef, restoreId, onFinished } = props;
  const live = useLiveOperation({
    key: restoreId,
    load: () => api.getRestore(entityRef, restoreId),
    stream: options => api.streamRestore(entityRef, restoreId, options),
  });
  const restore = live.value?.id === restoreId ? live.value : undefined;
  const finished = restore ? isTerminalPhase(restore.phase) : false;
  // Tell the history only about a restore seen running that has now finished.
  const sawRunning = useRef(false);
  if (restore && !finished) sawRunning.current = true;
  useEffect(() => {
    if (finished && sawRunning.current) onFinished?.();
  }, [finished, onFinished]);

  if (live.error) return <ApiErrorPanel error={live.error} />;
  if (!restore) return <Progress />;
  return (
    <Box>
      <PhaseChip phase={restore.phase} />
      <Facts restore={restore} />
      <FailureList phase={restore.phase} failures={restore.failures} message={restore.message} />
      <DetailSection title={finished ? 'Volumes and timeline' : 'Progress'}>
        <OperationProgress
          step={restore.step}
          volumes={restore.volumes}
          timeline={restore.timeline}
          mode={live.mode}
        />
      </DetailSection>
      <DetailSection title="Objects" count={restore.objects.length}>
        <RestoredObjects objects={restore.objects} />
      </DetailSection>
      <DetailSection title="Images" count={restore.images.length}>
        <RestoredImages images={restore.images} finished={finished} />
      </DetailSection>
    </Box>
  );
};
