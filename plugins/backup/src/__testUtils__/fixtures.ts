import type { Entity } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import type {
  BackupDetail,
  BackupSummary,
  RestoreDetail,
  RestoreOptions,
  RestoreSummary,
} from '@ferry/plugin-backup-common';

export const shop: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'shop', annotations: { 'ferry.io/helm-release': 'shop' } },
};

export const shopRef = { kind: 'Component', namespace: 'default', name: 'shop' };

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export function backupSummary(overrides: Partial<BackupSummary> = {}): BackupSummary {
  return {
    id: '20261125-100000-abc',
    entityRef: 'component:default/shop',
    cluster: 'sandbox',
    namespace: 'shop',
    target: 'local',
    kind: 'full',
    phase: 'Completed',
    trigger: { type: 'user', userEntityRef: 'user:default/ann' },
    createdAt: '2026-11-25T10:00:00Z',
    completedAt: '2026-11-25T10:01:05Z',
    logicalBytes: 2 * GiB,
    storedBytes: 300 * MiB,
    policy: 'daily',
    ...overrides,
  };
}

export function backupDetail(overrides: Partial<BackupDetail> = {}): BackupDetail {
  return {
    ...backupSummary(),
    resourceName: 'shop/ferry-20261125-100000-abc',
    volumes: [
      {
        pvc: 'data-db-0',
        phase: 'Completed',
        bytesTotal: 2 * GiB,
        bytesDone: 2 * GiB,
        storedBytes: 300 * MiB,
        type: 'full',
        chain: ['20261125-100000-abc'],
      },
    ],
    timeline: [
      { time: '2026-11-25T10:00:00Z', step: 'Plan', message: '12 resources, 1 volume' },
      { time: '2026-11-25T10:01:05Z', step: 'Commit', message: 'manifest written' },
    ],
    failures: [],
    resources: [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'shop' },
      { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'shop' },
    ],
    images: [{ image: 'docker.io/library/postgres:16', digest: `sha256:${'0123456789abcdef'.repeat(4)}`, stored: true }],
    hooks: [
      {
        name: 'db-0/db: psql -c CHECKPOINT',
        stage: 'pre',
        source: 'annotation',
        pod: 'db-0',
        container: 'db',
        command: ['psql', '-c', 'CHECKPOINT'],
        outcome: 'Succeeded',
        onError: 'Fail',
        exitCode: 0,
        durationMs: 120,
      },
    ],
    deletion: { allowed: true },
    ...overrides,
  };
}

export function restoreSummary(overrides: Partial<RestoreSummary> = {}): RestoreSummary {
  return {
    id: 'r1',
    entityRef: 'component:default/shop',
    backupId: '20261125-100000-abc',
    cluster: 'sandbox',
    namespace: 'shop-restored',
    phase: 'Completed',
    trigger: { type: 'user', userEntityRef: 'user:default/ann' },
    createdAt: '2026-11-25T11:00:00Z',
    completedAt: '2026-11-25T11:00:40Z',
    ...overrides,
  };
}

export function restoreDetail(overrides: Partial<RestoreDetail> = {}): RestoreDetail {
  return {
    ...restoreSummary(),
    resourceName: 'shop-restored/ferry-restore-r1',
    volumes: [{ pvc: 'data-db-0', phase: 'Completed', bytesTotal: 2 * GiB, bytesDone: 2 * GiB }],
    timeline: [{ time: '2026-11-25T11:00:00Z', step: 'Validate', message: 'backup readable' }],
    objects: [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'shop-restored', outcome: 'Created' },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', namespace: 'shop-restored', outcome: 'Skipped', reason: 'already exists' },
    ],
    images: [],
    failures: [],
    ...overrides,
  };
}

/** `GET …/restore-options` of a service owner of Shop: its own namespace and cluster only. */
export const ownerRestoreOptions: RestoreOptions = {
  cluster: 'sandbox',
  namespace: 'shop',
  clusters: ['sandbox'],
  anywhere: false,
  privileged: false,
};

/** `GET …/restore-options` of an administrator: any namespace, the given clusters, privileged. */
export function adminRestoreOptions(...clusters: string[]): RestoreOptions {
  return { cluster: 'sandbox', namespace: 'shop', clusters, anywhere: true, privileged: true };
}

/** A ResponseError as the backend sends it (Backstage's error body). */
export async function responseError(status: number, name: string, message: string) {
  const response = new Response(
    JSON.stringify({
      error: { name, message },
      request: { method: 'GET', url: '/x' },
      response: { statusCode: status },
    }),
    { status, statusText: 'Error', headers: { 'Content-Type': 'application/json' } },
  );
  return ResponseError.fromResponse(response);
}
