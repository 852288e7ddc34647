import type { CompoundEntityRef } from '@backstage/catalog-model';
import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  BackupDetail,
  BackupPlan,
  BackupSummary,
  CreateBackupRequest,
  DryRunResult,
  EntityBackupStatus,
  ListBackupsResponse,
  ListClustersResponse,
  ListRestoresResponse,
  PlatformOverview,
  RestoreDetail,
  RestoreOptions,
  RestoreRequest,
  RestoreSummary,
} from '@ferry/plugin-backup-common';
import type { BackupApi, PageRequest, StreamOptions } from './BackupApi';
import { EventStreamParser } from './EventStreamParser';

/** BackupApi over the backend plugin's REST API, with the user's credentials (fetchApi). */
export class BackupClient implements BackupApi {
  constructor(
    private readonly options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi },
  ) {}

  listBackups(entity: CompoundEntityRef, page: PageRequest): Promise<ListBackupsResponse> {
    return this.request(`${entityPath(entity)}/backups?${pageQuery(page)}`);
  }

  listRestores(entity: CompoundEntityRef, page: PageRequest): Promise<ListRestoresResponse> {
    return this.request(`${entityPath(entity)}/restores?${pageQuery(page)}`);
  }

  getPlan(entity: CompoundEntityRef): Promise<BackupPlan> {
    return this.request(`${entityPath(entity)}/plan`);
  }

  createBackup(entity: CompoundEntityRef, request: CreateBackupRequest): Promise<BackupSummary> {
    return this.request(`${entityPath(entity)}/backups`, { method: 'POST', body: request });
  }

  getBackup(entity: CompoundEntityRef, id: string): Promise<BackupDetail> {
    return this.request(`${entityPath(entity)}/backups/${encodeURIComponent(id)}`);
  }

  async deleteBackup(entity: CompoundEntityRef, id: string): Promise<void> {
    await this.request(`${entityPath(entity)}/backups/${encodeURIComponent(id)}`, {
      method: 'DELETE',
    });
  }

  streamBackup(
    entity: CompoundEntityRef,
    id: string,
    options: StreamOptions<BackupDetail>,
  ): Promise<void> {
    return this.stream(`${entityPath(entity)}/backups/${encodeURIComponent(id)}/events`, options);
  }

  createRestore(
    entity: CompoundEntityRef,
    request: RestoreRequest & { dryRun: true },
  ): Promise<DryRunResult>;
  createRestore(
    entity: CompoundEntityRef,
    request: RestoreRequest & { dryRun?: false },
  ): Promise<RestoreSummary>;
  createRestore(
    entity: CompoundEntityRef,
    request: RestoreRequest,
  ): Promise<DryRunResult | RestoreSummary> {
    return this.request(`${entityPath(entity)}/restores`, { method: 'POST', body: request });
  }

  getRestore(entity: CompoundEntityRef, id: string): Promise<RestoreDetail> {
    return this.request(`${entityPath(entity)}/restores/${encodeURIComponent(id)}`);
  }

  streamRestore(
    entity: CompoundEntityRef,
    id: string,
    options: StreamOptions<RestoreDetail>,
  ): Promise<void> {
    return this.stream(`${entityPath(entity)}/restores/${encodeURIComponent(id)}/events`, options);
  }

  getStatus(entity: CompoundEntityRef): Promise<EntityBackupStatus> {
    return this.request(`${entityPath(entity)}/status`);
  }

  getPlatformOverview(): Promise<PlatformOverview> {
    return this.request('/platform');
  }

  listClusters(): Promise<ListClustersResponse> {
    return this.request('/clusters');
  }

  getRestoreOptions(entity: CompoundEntityRef): Promise<RestoreOptions> {
    return this.request(`${entityPath(entity)}/restore-options`);
  }

  private async request<T>(
    path: string,
    init: { method?: 'GET' | 'POST' | 'DELETE'; body?: unknown } = {},
  ): Promise<T> {
    const baseUrl = await this.options.discoveryApi.getBaseUrl('backup');
    const response = await this.options.fetchApi.fetch(`${baseUrl}${path}`, {
      method: init.method ?? 'GET',
      ...(init.body === undefined
        ? {}
        : { body: JSON.stringify(init.body), headers: { 'Content-Type': 'application/json' } }),
    });
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    if (response.status === 204) {
      return undefined as T;
    }
    return (await response.json()) as T;
  }

  /**
   * Follows a `text/event-stream` through fetchApi (so the user's token is sent, which
   * EventSource cannot do). Each `progress` event's JSON goes to onProgress; `end` resolves.
   * A stream that closes without `end`, or any network error, rejects: callers fall back to
   * polling.
   */
  private async stream<T>(path: string, options: StreamOptions<T>): Promise<void> {
    const baseUrl = await this.options.discoveryApi.getBaseUrl('backup');
    let response: Response;
    try {
      response = await this.options.fetchApi.fetch(`${baseUrl}${path}`, {
        headers: { Accept: 'text/event-stream' },
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    }
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    if (!response.body) {
      throw new Error(`event stream ${path} has no body`);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new EventStreamParser();
    // Not every fetch implementation errors a body when its request is aborted: cancel it.
    const cancel = () => reader.cancel().catch(() => {});
    options.signal?.addEventListener('abort', cancel);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          throw new Error(`event stream ${path} closed before its end event`);
        }
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (event.event === 'end') return;
          if (event.event === 'progress') options.onProgress(JSON.parse(event.data) as T);
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      cancel();
    }
  }
}

function entityPath(entity: CompoundEntityRef): string {
  const parts = [entity.kind, entity.namespace, entity.name].map(part =>
    encodeURIComponent(part.toLocaleLowerCase('en-US')),
  );
  return `/entities/${parts.join('/')}`;
}

function pageQuery(page: PageRequest): string {
  return new URLSearchParams({
    limit: String(page.limit),
    offset: String(page.offset),
  }).toString();
}
