import { Entity } from '@backstage/catalog-model';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import { BackupSummary } from '@ferry/plugin-backup-common';
import { screen } from '@testing-library/react';
import { BackupApi, backupApiRef } from '../../api/BackupApi';
import { EntityBackupsContent } from './EntityBackupsContent';

const shop: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'shop', annotations: { 'ferry.io/helm-release': 'shop' } },
};

const backup = (overrides: Partial<BackupSummary>): BackupSummary => ({
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
  logicalBytes: 2 * 1024 ** 3,
  storedBytes: 300 * 1024 ** 2,
  policy: 'daily',
  ...overrides,
});

function renderWith(api: Partial<BackupApi>, entity: Entity = shop) {
  return renderInTestApp(
    <TestApiProvider apis={[[backupApiRef, api]]}>
      <EntityProvider entity={entity}>
        <EntityBackupsContent />
      </EntityProvider>
    </TestApiProvider>,
  );
}

describe('EntityBackupsContent', () => {
  it('shows the empty state from the backend', async () => {
    const listBackups = jest.fn().mockResolvedValue({
      entityRef: 'component:default/shop',
      items: [],
      totalCount: 0,
    });
    await renderWith({ listBackups });
    expect(await screen.findByText('No backups yet for shop')).toBeInTheDocument();
    expect(listBackups).toHaveBeenCalledWith(
      { kind: 'Component', namespace: 'default', name: 'shop' },
      { limit: 10, offset: 0 },
    );
  });

  it('lists backups with their phase, sizes and who started them', async () => {
    await renderWith({
      listBackups: jest.fn().mockResolvedValue({
        entityRef: 'component:default/shop',
        items: [
          backup({ id: 'b2', kind: 'incremental', phase: 'PartiallyFailed', storedBytes: 1536 }),
          backup({ id: 'b1' }),
        ],
        totalCount: 2,
      }),
    });
    expect(await screen.findByText('Backups of shop')).toBeInTheDocument();
    expect(screen.getByText('Incremental')).toBeInTheDocument();
    expect(screen.getByText('Partially failed')).toBeInTheDocument();
    expect(screen.getByText('1.5 KiB')).toBeInTheDocument();
    expect(screen.getByText('300 MiB')).toBeInTheDocument();
    expect(screen.getAllByText('1 min 5 s')).toHaveLength(2);
    expect(screen.getAllByText('ann')).toHaveLength(2);
  });

  it('shows the API error message', async () => {
    const response = new Response(
      JSON.stringify({
        error: { name: 'NotAllowedError', message: 'not allowed to backup.read on component:default/shop' },
        request: { method: 'GET', url: '/x' },
        response: { statusCode: 403 },
      }),
      { status: 403, statusText: 'Forbidden', headers: { 'Content-Type': 'application/json' } },
    );
    const error = await ResponseError.fromResponse(response);
    await renderWith({ listBackups: jest.fn().mockRejectedValue(error) });
    const messages = await screen.findAllByText(
      /not allowed to backup.read on component:default\/shop/,
    );
    expect(messages.length).toBeGreaterThan(0);
    expect(screen.getByText("403: NotAllowedError")).toBeInTheDocument();
    expect(screen.queryByText('Backups of shop')).not.toBeInTheDocument();
  });

  it('explains which annotations enable backups', async () => {
    const listBackups = jest.fn();
    await renderWith({ listBackups }, { ...shop, metadata: { name: 'bare' } });
    expect((await screen.findAllByText(/ferry\.io\/helm-release/))[0]).toBeVisible();
    expect(screen.getByText(/Missing Annotation/i)).toBeInTheDocument();
    expect(listBackups).not.toHaveBeenCalled();
  });
});
