import type { CompoundEntityRef } from '@backstage/catalog-model';
import type {
  BackupDetail,
  BackupPlan,
  BackupSummary,
  CreateBackupRequest,
  DryRunResult,
  ListClustersResponse,
  PlatformOverview,
  RestoreDetail,
  RestoreImagePlan,
  RestoreOptions,
  RestoreRequest,
  RestoreSummary,
} from '@ferry/plugin-backup-common';
import type { BackupApi, PageRequest, StreamOptions } from '../src';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const entityRef = 'component:default/shop';
const hour = 3600_000;
const postgres = 'docker.io/library/postgres:16.4';
const web = 'registry.internal/shop/web:1.4.2';

/** The sandbox cannot reach registry.internal: the web image needs image restore. */
function imagePlans(imageRestore: RestoreRequest['imageRestore']): RestoreImagePlan[] {
  const unreachable = 'registry.internal: dial tcp: lookup registry.internal: no such host';
  return [
    { image: postgres, reachable: true, stored: true, action: 'original' },
    imageRestore
      ? { image: web, reachable: false, stored: true, action: 'push', reason: unreachable }
      : { image: web, reachable: false, stored: true, action: 'unavailable', reason: `${unreachable}; image restore is not configured (imageRestore)` },
  ];
}

function id(time: number): string {
  return new Date(time).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/**
 * An in-memory BackupApi for `backstage-cli package start`: a week of backups (one partially
 * failed), one backup running whose volumes advance every second, restores, a dry run.
 */
export class DemoBackupApi implements BackupApi {
  private readonly backups: BackupDetail[] = [];
  private readonly restores: RestoreDetail[] = [];
  private readonly started = new Map<string, number>();

  constructor() {
    const now = Date.now();
    for (let day = 7; day >= 1; day -= 1) {
      const created = now - day * 24 * hour;
      const full = day === 7;
      const backupId = id(created);
      const chain = [...this.backups.map(b => b.id).reverse(), backupId];
      this.backups.unshift(
        this.detail({
          id: backupId,
          kind: full ? 'full' : 'incremental',
          phase: day === 3 ? 'PartiallyFailed' : 'Completed',
          createdAt: new Date(created).toISOString(),
          completedAt: new Date(created + (full ? 312_000 : 41_000)).toISOString(),
          logicalBytes: 12 * GiB,
          storedBytes: full ? 7.4 * GiB : (180 + day * 20) * MiB,
          trigger: day === 2 ? { type: 'user', userEntityRef: 'user:default/guest' } : { type: 'schedule', policy: 'daily' },
          chain,
          failed: day === 3,
        }),
      );
    }
    const running = this.detail({
      id: id(now - 40_000),
      kind: 'incremental',
      phase: 'Running',
      createdAt: new Date(now - 40_000).toISOString(),
      logicalBytes: 12 * GiB,
      trigger: { type: 'user', userEntityRef: 'user:default/guest' },
      chain: [...this.backups.map(b => b.id).reverse(), id(now - 40_000)],
      failed: false,
    });
    this.backups.unshift(running);
    this.started.set(running.id, now - 40_000);
    this.restores.push(
      this.restoreDetail(this.backups[3].id, 'shop-staging', now - 30 * hour, 'Completed', { registry: 'registry.sandbox:5000' }),
    );
  }

  private detail(o: {
    id: string;
    kind: BackupSummary['kind'];
    phase: BackupSummary['phase'];
    createdAt: string;
    completedAt?: string;
    logicalBytes: number;
    storedBytes?: number;
    trigger: BackupSummary['trigger'];
    chain: string[];
    failed: boolean;
  }): BackupDetail {
    const done = o.phase !== 'Running';
    return {
      id: o.id,
      entityRef,
      cluster: 'sandbox',
      namespace: 'shop',
      kind: o.kind,
      phase: o.phase,
      policy: 'daily',
      target: 'local',
      trigger: o.trigger,
      createdAt: o.createdAt,
      completedAt: o.completedAt,
      logicalBytes: o.logicalBytes,
      storedBytes: o.storedBytes,
      message: o.failed ? 'volume cache-0 was not backed up' : undefined,
      resourceName: `shop/ferry-${o.id}`,
      step: done ? undefined : 'Transfer',
      volumes: [
        { pvc: 'data-db-0', phase: done ? 'Completed' : 'Transferring', bytesTotal: 8 * GiB, bytesDone: done ? 8 * GiB : 0, storedBytes: o.storedBytes && o.storedBytes * 0.8, type: o.kind, chain: o.chain },
        { pvc: 'uploads', phase: done ? 'Completed' : 'Transferring', bytesTotal: 3 * GiB, bytesDone: done ? 3 * GiB : 0, storedBytes: o.storedBytes && o.storedBytes * 0.2, type: o.kind, chain: o.chain },
        o.failed
          ? { pvc: 'cache-0', phase: 'Failed', bytesTotal: GiB, reason: 'no VolumeSnapshotClass for driver hostpath.csi.k8s.io' }
          : { pvc: 'cache-0', phase: done ? 'Completed' : 'Snapshotting', bytesTotal: GiB, bytesDone: done ? GiB : 0, type: o.kind, chain: o.chain },
      ],
      timeline: [
        { time: o.createdAt, step: 'Plan', message: '23 resources, 3 volumes, 2 images' },
        { time: o.createdAt, step: 'Metadata', message: '23 resources written as YAML' },
        { time: o.createdAt, step: 'Pre-hooks', message: 'flush-db succeeded' },
        { time: o.createdAt, step: 'Snapshots', message: '3 VolumeSnapshots ready' },
        ...(done ? [{ time: o.completedAt!, step: 'Commit', message: 'manifest written' }] : []),
      ],
      failures: o.failed ? [{ kind: 'Volume', name: 'cache-0', reason: 'no VolumeSnapshotClass for driver hostpath.csi.k8s.io' }] : [],
      resources: [
        { apiVersion: 'v1', kind: 'ServiceAccount', name: 'shop', namespace: 'shop' },
        { apiVersion: 'v1', kind: 'Secret', name: 'sh.helm.release.v1.shop.v3', namespace: 'shop' },
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'shop-settings', namespace: 'shop' },
        { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'shop' },
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'shop' },
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-db-0', namespace: 'shop' },
      ],
      images: [
        { image: postgres, digest: `sha256:5b6d1e0c2f9a7c8d${'0'.repeat(48)}`, stored: true },
        { image: web, digest: `sha256:9c1f0a7e3d2b4c5a${'0'.repeat(48)}`, stored: true },
      ],
      hooks: [
        {
          name: 'db-0/postgres: psql -c CHECKPOINT',
          stage: 'pre',
          source: 'annotation',
          pod: 'db-0',
          container: 'postgres',
          command: ['psql', '-c', 'CHECKPOINT'],
          outcome: 'Succeeded',
          onError: 'Fail',
          exitCode: 0,
          durationMs: 412,
          stdout: 'CHECKPOINT',
        },
        {
          name: 'db-0/postgres: /scripts/resume.sh',
          stage: 'post',
          source: 'annotation',
          pod: 'db-0',
          container: 'postgres',
          command: ['/scripts/resume.sh'],
          outcome: 'Succeeded',
          onError: 'Continue',
          exitCode: 0,
          durationMs: 35,
        },
      ],
      deletion: o.kind === 'full' ? { allowed: false, reason: 'the base of 6 kept incrementals' } : { allowed: true },
    };
  }

  private restoreDetail(
    backupId: string,
    namespace: string,
    created: number,
    phase: RestoreDetail['phase'],
    imageRestore?: RestoreRequest['imageRestore'],
  ): RestoreDetail {
    const done = phase !== 'Running';
    const repository = `${imageRestore?.registry}/${imageRestore?.repository ?? 'ferry/shop'}`;
    const images = imagePlans(imageRestore).map(plan =>
      plan.action === 'push'
        ? { ...plan, restored: `${repository}/web:1.4.2-ferry-${id(created).slice(0, 8)}@sha256:9c1f0a7e3d2b4c5a${'0'.repeat(48)}`, tagChanged: true }
        : plan,
    );
    return {
      id: `restore-${id(created)}`,
      entityRef,
      backupId,
      cluster: 'sandbox',
      namespace,
      phase,
      trigger: { type: 'user', userEntityRef: 'user:default/guest' },
      createdAt: new Date(created).toISOString(),
      completedAt: done ? new Date(created + 95_000).toISOString() : undefined,
      resourceName: `${namespace}/ferry-restore-${id(created)}`,
      step: done ? undefined : 'Volumes',
      volumes: [
        { pvc: 'data-db-0', phase: done ? 'Completed' : 'Transferring', bytesTotal: 8 * GiB, bytesDone: done ? 8 * GiB : 0 },
        { pvc: 'uploads', phase: done ? 'Completed' : 'Transferring', bytesTotal: 3 * GiB, bytesDone: done ? 3 * GiB : 0 },
      ],
      timeline: [{ time: new Date(created).toISOString(), step: 'Validate', message: 'backup readable, storage class ferry-sandbox exists' }],
      objects: done
        ? [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'shop-settings', namespace, outcome: 'Created' },
            { apiVersion: 'v1', kind: 'Service', name: 'web', namespace, outcome: 'Created' },
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace, outcome: 'Created' },
            { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace, outcome: 'Created' },
            { apiVersion: 'v1', kind: 'ServiceAccount', name: 'shop', namespace, outcome: 'Skipped', reason: 'already exists' },
          ]
        : [],
      images,
      // As the backend: an image it cannot reach is reported, not a failure of the restore.
      failures: [],
    };
  }

  /** Advances a running operation by elapsed time: ~200 MiB/s, done after about a minute. */
  private advance<T extends BackupDetail | RestoreDetail>(op: T): T {
    if (op.phase !== 'Running') return op;
    const since = Date.now() - (this.started.get(op.id) ?? Date.now());
    let allDone = true;
    for (const volume of op.volumes) {
      const total = volume.bytesTotal ?? 0;
      volume.bytesDone = Math.min(total, Math.round((since / 1000) * 200 * MiB * (total / (8 * GiB))));
      volume.phase = volume.bytesDone >= total ? 'Completed' : 'Transferring';
      if (volume.bytesDone < total) allDone = false;
    }
    if (allDone) {
      op.phase = op.failures.length > 0 ? 'PartiallyFailed' : 'Completed';
      op.completedAt = new Date().toISOString();
      op.step = undefined;
      op.timeline.push({ time: op.completedAt, step: 'Commit', message: 'done' });
      if ('storedBytes' in op) op.storedBytes = 420 * MiB;
    }
    return op;
  }

  async listBackups(_e: CompoundEntityRef, page: PageRequest) {
    this.backups.forEach(b => this.advance(b));
    return { entityRef, items: this.backups.slice(page.offset, page.offset + page.limit), totalCount: this.backups.length };
  }
  async listRestores(_e: CompoundEntityRef, page: PageRequest) {
    this.restores.forEach(r => this.advance(r));
    return { entityRef, items: this.restores.slice(page.offset, page.offset + page.limit), totalCount: this.restores.length };
  }
  async getPlan(): Promise<BackupPlan> {
    const resources = this.backups[0].resources.map(r => ({ ...r, source: 'helm' as const }));
    return {
      entityRef,
      cluster: 'sandbox',
      namespace: 'shop',
      application: { helmReleases: ['shop'], labelSelectors: [], wholeNamespace: false },
      target: 'local',
      policy: 'daily',
      resources,
      volumes: [
        { pvc: 'data-db-0', storageClass: 'ferry-sandbox', volumeMode: 'Filesystem', sizeBytes: 8 * GiB, csiDriver: 'sandbox.ferry.io', volumeSnapshotClass: 'ferry-sandbox' },
        { pvc: 'uploads', storageClass: 'ferry-sandbox', volumeMode: 'Filesystem', sizeBytes: 3 * GiB, csiDriver: 'sandbox.ferry.io', volumeSnapshotClass: 'ferry-sandbox' },
        { pvc: 'cache-0', storageClass: 'hostpath', volumeMode: 'Filesystem', sizeBytes: GiB, csiDriver: 'hostpath.csi.k8s.io' },
      ],
      images: [postgres, web],
      warnings: ['PVC cache-0: driver hostpath.csi.k8s.io has no VolumeSnapshotClass; it will not be backed up'],
    };
  }
  async createBackup(_e: CompoundEntityRef, request: CreateBackupRequest): Promise<BackupSummary> {
    const now = Date.now();
    const backup = this.detail({
      id: id(now),
      kind: request.type === 'full' ? 'full' : 'incremental',
      phase: 'Running',
      createdAt: new Date(now).toISOString(),
      logicalBytes: 12 * GiB,
      trigger: { type: 'user', userEntityRef: 'user:default/guest' },
      chain: [...this.backups.map(b => b.id).reverse(), id(now)],
      failed: false,
    });
    this.backups.unshift(backup);
    this.started.set(backup.id, now);
    return backup;
  }
  async getBackup(_e: CompoundEntityRef, backupId: string) {
    const backup = this.backups.find(b => b.id === backupId);
    if (!backup) throw new Error(`backup ${backupId} not found`);
    return structuredClone(this.advance(backup));
  }
  async deleteBackup(_e: CompoundEntityRef, backupId: string) {
    this.backups.splice(this.backups.findIndex(b => b.id === backupId), 1);
  }
  streamBackup(e: CompoundEntityRef, backupId: string, options: StreamOptions<BackupDetail>) {
    return this.stream(() => this.getBackup(e, backupId), options);
  }
  createRestore(e: CompoundEntityRef, request: RestoreRequest & { dryRun: true }): Promise<DryRunResult>;
  createRestore(e: CompoundEntityRef, request: RestoreRequest & { dryRun?: false }): Promise<RestoreSummary>;
  async createRestore(_e: CompoundEntityRef, request: RestoreRequest): Promise<DryRunResult | RestoreSummary> {
    const namespace = request.namespace ?? 'shop';
    if (request.dryRun) {
      const existing = namespace === 'shop';
      return {
        dryRun: true,
        backupId: request.backupId,
        cluster: request.cluster ?? 'sandbox',
        namespace,
        objects: [
          { apiVersion: 'v1', kind: 'ServiceAccount', name: 'shop', namespace, action: 'skip', reason: 'already exists' },
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'shop-settings',
            namespace,
            action: existing && request.existing === 'patch' ? 'patch' : 'create',
            diff: '--- live\n+++ restored\n@@ -3,6 +3,6 @@\n data:\n   currency: EUR\n-  log-level: debug\n+  log-level: info\n   payment-provider: stripe\n-  feature-flags: "new-checkout"\n+  feature-flags: ""',
          },
          { apiVersion: 'v1', kind: 'Service', name: 'web', namespace, action: 'create' },
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace, action: 'create' },
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace, action: 'create' },
        ],
        volumes: [
          { pvc: 'data-db-0', storageClass: 'ferry-sandbox', sizeBytes: 8 * GiB, action: 'create' },
          { pvc: 'uploads', storageClass: 'ferry-sandbox', sizeBytes: 3 * GiB, action: 'create' },
        ],
        unreachableImages: [web],
        images: imagePlans(request.imageRestore),
        warnings: [
          ...imagePlans(request.imageRestore)
            .filter(image => image.action === 'unavailable')
            .map(image => `image ${image.image} cannot be pulled and will not be pushed: ${image.reason}`),
          `Helm release shop will be recorded in namespace ${namespace}`,
        ],
      };
    }
    const restore = this.restoreDetail(request.backupId, namespace, Date.now(), 'Running', request.imageRestore);
    this.started.set(restore.id, Date.now());
    this.restores.unshift(restore);
    return restore;
  }
  async getRestore(_e: CompoundEntityRef, restoreId: string) {
    const restore = this.restores.find(r => r.id === restoreId);
    if (!restore) throw new Error(`restore ${restoreId} not found`);
    const advanced = this.advance(restore);
    if (advanced.phase !== 'Running' && advanced.objects.length === 0) {
      Object.assign(advanced, { objects: this.restoreDetail(advanced.backupId, advanced.namespace, Date.parse(advanced.createdAt), 'Completed').objects });
    }
    return structuredClone(advanced);
  }
  streamRestore(e: CompoundEntityRef, restoreId: string, options: StreamOptions<RestoreDetail>) {
    return this.stream(() => this.getRestore(e, restoreId), options);
  }
  async getStatus() {
    const last = this.backups.find(b => b.phase === 'Completed');
    const running = this.backups.find(b => b.phase === 'Running');
    return {
      entityRef,
      protection: 'protected' as const,
      reason: 'last backup less than a day ago, within the daily policy',
      lastSuccessfulBackup: last && { id: last.id, completedAt: last.completedAt, kind: last.kind },
      nextScheduledRun: new Date(Date.now() + 9 * hour).toISOString(),
      policy: 'daily',
      running: running && { id: running.id, phase: running.phase },
    };
  }
  async getPlatformOverview(): Promise<PlatformOverview> {
    const days = Array.from({ length: 14 }, (_v, i) => {
      const date = new Date(Date.now() - (13 - i) * 24 * hour).toISOString().slice(0, 10);
      const logicalBytes = (20 + i * 12) * GiB;
      const storedBytes = (20 + i * 1.6) * GiB + (i >= 7 ? 8 * GiB : 0);
      return { date, storedBytes, logicalBytes };
    });
    return {
      targets: [
        { name: 'local', type: 'filesystem', healthy: true, usedBytes: 38.4 * GiB },
        { name: 'offsite', type: 's3', healthy: false, message: 'bucket ferry-offsite: AccessDenied on PutObject', usedBytes: 112 * GiB },
      ],
      policies: [
        { name: 'daily', target: 'local', schedule: '0 2 * * *', keepLast: 14, fullEvery: 7, skipImageBackup: false },
        { name: 'hourly-db', target: 'offsite', schedule: '0 * * * *', keepLast: 48, fullEvery: 24, skipImageBackup: true },
      ],
      coverage: [
        { entityRef, title: 'Shop', protection: 'protected', lastBackupAt: new Date(Date.now() - 20 * hour).toISOString() },
        { entityRef: 'component:default/ledger', title: 'Ledger', protection: 'at-risk', lastBackupAt: new Date(Date.now() - 3 * 24 * hour).toISOString() },
        { entityRef: 'component:default/search', title: 'Search', protection: 'unprotected' },
        { entityRef: 'component:default/payments', title: 'Payments', protection: 'protected', lastBackupAt: new Date(Date.now() - 2 * hour).toISOString() },
      ],
      storedBytesOverTime: days,
    };
  }

  async listClusters(): Promise<ListClustersResponse> {
    return { items: [{ name: 'production' }, { name: 'sandbox' }, { name: 'staging' }] };
  }

  /** All permissions are allowed in the dev app: an administrator's options. */
  async getRestoreOptions(): Promise<RestoreOptions> {
    return {
      cluster: 'sandbox',
      namespace: 'shop',
      clusters: ['production', 'sandbox', 'staging'],
      anywhere: true,
      privileged: true,
    };
  }

  private async stream<T extends { phase: string }>(load: () => Promise<T>, options: StreamOptions<T>) {
    for (;;) {
      if (options.signal?.aborted) return;
      const value = await load();
      options.onProgress(value);
      if (value.phase !== 'Running' && value.phase !== 'Pending') return;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  }
}
