import { InfoCard } from '@backstage/core-components';
import { Box, Button } from '@material-ui/core';
import {
  isTerminalPhase,
  OperationPhase,
  TimelineEntry,
  VolumeProgress,
} from '@ferry/plugin-backup-common';
import { useEffect } from 'react';
import type { StreamOptions } from '../../api/BackupApi';
import { useLiveOperation } from '../../hooks/useLiveOperation';
import { OperationProgress } from '../OperationProgress';
import { PhaseChip } from '../PhaseChip';

interface LiveDetail {
  id: string;
  phase: OperationPhase;
  step?: string;
  volumes: VolumeProgress[];
  timeline: TimelineEntry[];
}

/**
 * A running backup or restore, live: a progress bar per volume and the timeline. Calls
 * onFinished once it reaches a terminal phase, so that the history can reload.
 */
export function LiveOperationCard<T extends LiveDetail>(props: {
  title: string;
  subheader: string;
  id: string;
  phase: OperationPhase;
  load: () => Promise<T>;
  stream: (options: StreamOptions<T>) => Promise<void>;
  onFinished: () => void;
  onOpen: (id: string) => void;
}) {
  const { onFinished } = props;
  const live = useLiveOperation<T>({ key: props.id, load: props.load, stream: props.stream });
  const phase = live.value?.phase ?? props.phase;
  useEffect(() => {
    if (isTerminalPhase(phase)) onFinished();
  }, [phase, onFinished]);
  return (
    <Box mb={2}>
      <InfoCard
        title={props.title}
        subheader={props.subheader}
        action={
          <Box display="flex" alignItems="center" style={{ gap: 8 }} mt={1}>
            <PhaseChip phase={phase} />
            <Button size="small" color="primary" onClick={() => props.onOpen(props.id)}>
              Details
            </Button>
          </Box>
        }
      >
        <OperationProgress
          step={live.value?.step}
          volumes={live.value?.volumes ?? []}
          timeline={live.value?.timeline ?? []}
          mode={live.mode}
        />
      </InfoCard>
    </Box>
  );
}
