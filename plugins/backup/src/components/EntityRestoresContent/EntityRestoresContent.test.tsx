import { EntityProvider } from '@backstage/plugin-catalog-react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { screen } from '@testing-library/react';
import { backupApiRef } from '../../api/BackupApi';
import { EntityRestoresContent } from './EntityRestoresContent';

const shop = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'shop', annotations: { 'backstage.io/kubernetes-id': 'shop' } },
};

describe('EntityRestoresContent', () => {
  const render = (listRestores: jest.Mock) =>
    renderInTestApp(
      <TestApiProvider apis={[[backupApiRef, { listRestores }]]}>
        <EntityProvider entity={shop}>
          <EntityRestoresContent />
        </EntityProvider>
      </TestApiProvider>,
    );

  it('shows the empty state from the backend', async () => {
    await render(jest.fn().mockResolvedValue({ entityRef: 'x', items: [], totalCount: 0 }));
    expect(await screen.findByText('No restores yet for shop')).toBeInTheDocument();
  });

  it('lists restores with their target and phase', async () => {
    await render(
      jest.fn().mockResolvedValue({
        entityRef: 'component:default/shop',
        items: [
          {
            id: 'r1',
            entityRef: 'component:default/shop',
            backupId: '20261125-100000-abc',
            cluster: 'sandbox',
            namespace: 'shop-restored',
            phase: 'Running',
            trigger: { type: 'kubernetes' },
            createdAt: '2026-11-25T10:00:00Z',
          },
        ],
        totalCount: 1,
      }),
    );
    expect(await screen.findByText('sandbox / shop-restored')).toBeInTheDocument();
    expect(screen.getByText('Running')).toBeInTheDocument();
    expect(screen.getByText('kubectl / GitOps')).toBeInTheDocument();
  });
});
