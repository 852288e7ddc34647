import { StatusError, StatusOK, StatusWarning } from '@backstage/core-components';
import type { ProtectionState } from '@ferry/plugin-backup-common';

const labels: Record<ProtectionState, string> = {
  protected: 'Protected',
  'at-risk': 'At risk',
  unprotected: 'Unprotected',
};

/** Green, amber or red: whether an entity has a recent successful backup. */
export const ProtectionStatus = ({ state }: { state: ProtectionState }) => {
  switch (state) {
    case 'protected':
      return <StatusOK>{labels[state]}</StatusOK>;
    case 'at-risk':
      return <StatusWarning>{labels[state]}</StatusWarning>;
    default:
      return <StatusError>{labels.unprotected}</StatusError>;
  }
};
