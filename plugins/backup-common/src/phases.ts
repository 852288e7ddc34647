/** Lifecycle of a Backup or Restore resource (`.status.phase`). */
export const OPERATION_PHASES = [
  'Pending',
  'Running',
  'Completed',
  'PartiallyFailed',
  'Failed',
] as const;

export type OperationPhase = (typeof OPERATION_PHASES)[number];

export function isTerminalPhase(phase: OperationPhase): boolean {
  return phase === 'Completed' || phase === 'PartiallyFailed' || phase === 'Failed';
}
