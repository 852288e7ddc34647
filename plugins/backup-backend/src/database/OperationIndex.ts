import type {
  BackupSummary,
  OperationTrigger,
  RestoreSummary,
} from '@ferry/plugin-backup-common';
import type { Knex } from 'knex';

interface BackupRow {
  id: string;
  entity_ref: string;
  cluster: string;
  namespace: string;
  target: string;
  kind: string;
  phase: string;
  policy: string | null;
  trigger: string;
  created_at: string;
  completed_at: string | null;
  logical_bytes: number | string | null;
  stored_bytes: number | string | null;
  message: string | null;
  resource_name?: string | null;
  detail?: string | null;
  updated_at?: string | null;
}

/** A backup as indexed, with the resource behind it and its last status (JSON, opaque here). */
export interface IndexedBackup {
  summary: BackupSummary;
  resourceName?: string;
  detail?: unknown;
  updatedAt?: string;
}

interface RestoreRow {
  id: string;
  entity_ref: string;
  backup_id: string;
  cluster: string;
  namespace: string;
  phase: string;
  trigger: string;
  created_at: string;
  completed_at: string | null;
  message: string | null;
  resource_name?: string | null;
  detail?: string | null;
  updated_at?: string | null;
}

/** A restore as indexed, with the resource behind it and its last status (JSON, opaque here). */
export interface IndexedRestore {
  summary: RestoreSummary;
  resourceName?: string;
  detail?: unknown;
}

export interface Page {
  limit: number;
  offset: number;
}

/** The database index of operations (DESIGN §3): fast listing, never the only copy. */
export class OperationIndex {
  constructor(private readonly db: Knex) {}

  async listBackups(options: {
    entityRef: string;
    page: Page;
  }): Promise<{ items: BackupSummary[]; totalCount: number }> {
    const query = this.db<BackupRow>('ferry_backups').where('entity_ref', options.entityRef);
    const [{ count }] = await query.clone().count({ count: '*' });
    const rows = await query
      .clone()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.page.limit)
      .offset(options.page.offset);
    return { items: rows.map(toSummary), totalCount: Number(count) };
  }

  async listRestores(options: {
    entityRef: string;
    page: Page;
  }): Promise<{ items: RestoreSummary[]; totalCount: number }> {
    const query = this.db<RestoreRow>('ferry_restores').where('entity_ref', options.entityRef);
    const [{ count }] = await query.clone().count({ count: '*' });
    const rows = await query
      .clone()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.page.limit)
      .offset(options.page.offset);
    return { items: rows.map(toRestoreSummary), totalCount: Number(count) };
  }

  async upsertRestore(
    restore: RestoreSummary,
    extra: { resourceName?: string; detail?: unknown } = {},
  ): Promise<void> {
    const row: RestoreRow = {
      id: restore.id,
      entity_ref: restore.entityRef,
      backup_id: restore.backupId,
      cluster: restore.cluster,
      namespace: restore.namespace,
      phase: restore.phase,
      trigger: JSON.stringify(restore.trigger),
      created_at: restore.createdAt,
      completed_at: restore.completedAt ?? null,
      message: restore.message ?? null,
      updated_at: new Date().toISOString(),
      ...(extra.resourceName !== undefined ? { resource_name: extra.resourceName } : {}),
      ...(extra.detail !== undefined ? { detail: JSON.stringify(extra.detail) } : {}),
    };
    await this.db<RestoreRow>('ferry_restores').insert(row).onConflict('id').merge();
  }

  async getRestore(options: { entityRef: string; id: string }): Promise<IndexedRestore | undefined> {
    const row = await this.db<RestoreRow>('ferry_restores')
      .where({ entity_ref: options.entityRef, id: options.id })
      .first();
    if (!row) return undefined;
    return {
      summary: toRestoreSummary(row),
      resourceName: row.resource_name ?? undefined,
      detail: row.detail ? JSON.parse(row.detail) : undefined,
    };
  }

  async upsertBackup(
    backup: BackupSummary,
    extra: { resourceName?: string; detail?: unknown } = {},
  ): Promise<void> {
    const row: BackupRow = {
      ...toRow(backup),
      updated_at: new Date().toISOString(),
      ...(extra.resourceName !== undefined ? { resource_name: extra.resourceName } : {}),
      ...(extra.detail !== undefined ? { detail: JSON.stringify(extra.detail) } : {}),
    };
    await this.db<BackupRow>('ferry_backups').insert(row).onConflict('id').merge();
  }

  async getBackup(options: { entityRef: string; id: string }): Promise<IndexedBackup | undefined> {
    const row = await this.db<BackupRow>('ferry_backups')
      .where({ entity_ref: options.entityRef, id: options.id })
      .first();
    if (!row) return undefined;
    return {
      summary: toSummary(row),
      resourceName: row.resource_name ?? undefined,
      detail: row.detail ? JSON.parse(row.detail) : undefined,
      updatedAt: row.updated_at ?? undefined,
    };
  }

  /** The entity a backup belongs to (backup ids are unique across entities). */
  async entityOfBackup(id: string): Promise<string | undefined> {
    const row = await this.db<BackupRow>('ferry_backups').where({ id }).first('entity_ref');
    return row?.entity_ref || undefined;
  }

  async hasBackup(id: string): Promise<boolean> {
    return Boolean(await this.db('ferry_backups').where({ id }).first('id'));
  }

  /** Every indexed backup (for the platform page: capacity, coverage, history). */
  async allBackups(): Promise<BackupSummary[]> {
    const rows = await this.db<BackupRow>('ferry_backups').orderBy('created_at', 'asc');
    return rows.map(toSummary);
  }

  async deleteBackup(id: string): Promise<void> {
    await this.db('ferry_backups').where({ id }).delete();
  }
}

function toRow(backup: BackupSummary): BackupRow {
  return {
    id: backup.id,
    entity_ref: backup.entityRef,
    cluster: backup.cluster,
    namespace: backup.namespace,
    target: backup.target,
    kind: backup.kind,
    phase: backup.phase,
    policy: backup.policy ?? null,
    trigger: JSON.stringify(backup.trigger),
    created_at: backup.createdAt,
    completed_at: backup.completedAt ?? null,
    logical_bytes: backup.logicalBytes ?? null,
    stored_bytes: backup.storedBytes ?? null,
    message: backup.message ?? null,
  };
}

function toRestoreSummary(row: RestoreRow): RestoreSummary {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    backupId: row.backup_id,
    cluster: row.cluster,
    namespace: row.namespace,
    phase: row.phase as RestoreSummary['phase'],
    trigger: JSON.parse(row.trigger) as OperationTrigger,
    createdAt: row.created_at,
    completedAt: row.completed_at ?? undefined,
    message: row.message ?? undefined,
  };
}

function toSummary(row: BackupRow): BackupSummary {
  const optionalNumber = (value: number | string | null) =>
    value === null ? undefined : Number(value);
  return {
    id: row.id,
    entityRef: row.entity_ref,
    cluster: row.cluster,
    namespace: row.namespace,
    target: row.target,
    kind: row.kind === 'incremental' ? 'incremental' : 'full',
    phase: row.phase as BackupSummary['phase'],
    policy: row.policy ?? undefined,
    trigger: JSON.parse(row.trigger) as OperationTrigger,
    createdAt: row.created_at,
    completedAt: row.completed_at ?? undefined,
    logicalBytes: optionalNumber(row.logical_bytes),
    storedBytes: optionalNumber(row.stored_bytes),
    message: row.message ?? undefined,
  };
}
