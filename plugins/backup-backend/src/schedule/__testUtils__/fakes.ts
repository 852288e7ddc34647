import type { Entity } from '@backstage/catalog-model';
import type { BackupSummary, OperationPhase } from '@ferry/plugin-backup-common';

/** A catalog entity backing up Helm release `<name>` in namespace `<name>`. */
export function appEntity(
  name: string,
  options: { lifecycle?: string; annotations?: Record<string, string> } = {},
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: { 'ferry.io/helm-release': name, 'ferry.io/namespace': name, ...options.annotations },
    },
    spec: { type: 'service', owner: 'team-a', lifecycle: options.lifecycle ?? 'production' },
  };
}

let sequence = 0;

/** An index row; ids sort by `minute` like real backup ids sort by time. */
export function summary(options: {
  entity?: string;
  minute: number;
  phase?: OperationPhase;
  policy?: string;
  manual?: boolean;
}): BackupSummary {
  const minute = String(options.minute).padStart(2, '0');
  const id = `20260101T10${minute}00000Z-${(sequence++).toString(16).padStart(6, '0')}`;
  const policy = options.policy ?? 'nightly';
  return {
    id,
    entityRef: `component:default/${options.entity ?? 'shop'}`,
    cluster: 'sandbox',
    namespace: options.entity ?? 'shop',
    target: 'local',
    kind: 'full',
    phase: options.phase ?? 'Completed',
    policy,
    trigger: options.manual
      ? { type: 'user', userEntityRef: 'user:default/ann' }
      : { type: 'schedule', policy },
    createdAt: `2026-01-01T10:${minute}:00.000Z`,
  };
}
