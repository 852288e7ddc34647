import type { CompoundEntityRef } from '@backstage/catalog-model';
import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  ListBackupsResponse,
  ListRestoresResponse,
} from '@ferry/plugin-backup-common';
import type { BackupApi, PageRequest } from './BackupApi';

/** BackupApi over the backend plugin's REST API, with the user's credentials (fetchApi). */
export class BackupClient implements BackupApi {
  constructor(
    private readonly options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi },
  ) {}

  listBackups(entity: CompoundEntityRef, page: PageRequest): Promise<ListBackupsResponse> {
    return this.get(`${entityPath(entity)}/backups?${pageQuery(page)}`);
  }

  listRestores(entity: CompoundEntityRef, page: PageRequest): Promise<ListRestoresResponse> {
    return this.get(`${entityPath(entity)}/restores?${pageQuery(page)}`);
  }

  private async get<T>(path: string): Promise<T> {
    const baseUrl = await this.options.discoveryApi.getBaseUrl('backup');
    const response = await this.options.fetchApi.fetch(`${baseUrl}${path}`);
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
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
