import type { OperationPhase } from '@ferry/plugin-backup-common';
import {
  StatusAborted,
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
} from '@backstage/core-components';

const labels: Record<OperationPhase, string> = {
  Pending: 'Pending',
  Running: 'Running',
  Completed: 'Completed',
  PartiallyFailed: 'Partially failed',
  Failed: 'Failed',
};

/** The phase of a backup or restore, with Backstage's status colours. */
export const PhaseChip = ({ phase }: { phase: OperationPhase }) => {
  const label = labels[phase];
  switch (phase) {
    case 'Completed':
      return <StatusOK>{label}</StatusOK>;
    case 'PartiallyFailed':
      return <StatusWarning>{label}</StatusWarning>;
    case 'Failed':
      return <StatusError>{label}</StatusError>;
    case 'Running':
      return <StatusRunning>{label}</StatusRunning>;
    case 'Pending':
      return <StatusPending>{label}</StatusPending>;
    default:
      return <StatusAborted>{phase}</StatusAborted>;
  }
};
