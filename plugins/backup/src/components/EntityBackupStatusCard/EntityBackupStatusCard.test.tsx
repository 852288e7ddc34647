import type { EntityBackupStatus } from '@ferry/plugin-backup-common';
import { screen } from '@testing-library/react';
import { responseError, shop, shopRef } from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { EntityBackupStatusCard } from './EntityBackupStatusCard';

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3600_000).toISOString();

function render(getStatus: jest.Mock, entity = shop) {
  return renderWithApis(<EntityBackupStatusCard />, { api: { getStatus }, entity });
}

describe('EntityBackupStatusCard', () => {
  it('shows a protected component: last backup age, next run, policy, link to the Backups tab', async () => {
    const status: EntityBackupStatus = {
      entityRef: 'component:default/shop',
      protection: 'protected',
      reason: 'last backup 3 h ago',
      lastSuccessfulBackup: { id: 'b1', completedAt: hoursFromNow(-3), kind: 'incremental' },
      nextScheduledRun: hoursFromNow(5.5),
      policy: 'daily',
    };
    const getStatus = jest.fn().mockResolvedValue(status);
    await render(getStatus);
    expect(await screen.findByText('Protected')).toBeInTheDocument();
    expect(screen.getByText('last backup 3 h ago')).toBeInTheDocument();
    expect(screen.getByText('3 h ago (incremental)')).toBeInTheDocument();
    expect(screen.getByText('in 5 h')).toBeInTheDocument();
    expect(screen.getByText('daily')).toBeInTheDocument();
    expect(screen.getByText('View backups').closest('a')).toHaveAttribute(
      'href',
      '/catalog/default/component/shop/backups',
    );
    expect(getStatus).toHaveBeenCalledWith(shopRef);
  });

  it('shows an at-risk component with a running backup', async () => {
    await render(
      jest.fn().mockResolvedValue({
        entityRef: 'component:default/shop',
        protection: 'at-risk',
        reason: 'no backup in 2 days',
        lastSuccessfulBackup: { id: 'b1', completedAt: hoursFromNow(-50), kind: 'full' },
        running: { id: 'b2', phase: 'Running' },
      }),
    );
    expect(await screen.findByText('At risk')).toBeInTheDocument();
    expect(screen.getByText('2 days ago (full)')).toBeInTheDocument();
    expect(screen.getByText('Not scheduled')).toBeInTheDocument();
    expect(screen.getByText('Backup b2 (Running)')).toBeInTheDocument();
  });

  it('shows an unprotected component', async () => {
    await render(
      jest.fn().mockResolvedValue({
        entityRef: 'component:default/shop',
        protection: 'unprotected',
        reason: 'no backup yet',
      }),
    );
    expect(await screen.findByText('Unprotected')).toBeInTheDocument();
    expect(screen.getByText('no backup yet')).toBeInTheDocument();
    expect(screen.getByText('None yet')).toBeInTheDocument();
  });

  it('shows a progress bar while loading', async () => {
    await render(jest.fn(() => new Promise<never>(() => {})));
    expect(await screen.findByTestId('progress')).toBeInTheDocument();
  });

  it('shows the API error message', async () => {
    const error = await responseError(500, 'Error', 'cluster sandbox is unreachable');
    await render(jest.fn().mockRejectedValue(error));
    expect((await screen.findAllByText(/cluster sandbox is unreachable/)).length).toBeGreaterThan(0);
    expect(screen.getByText('500: Error')).toBeInTheDocument();
  });

  it('says quietly that a user who may not read backups cannot see them', async () => {
    const error = await responseError(403, 'NotAllowedError', 'not allowed to backup.read on component:default/shop');
    await render(jest.fn().mockRejectedValue(error));
    expect(await screen.findByText('not allowed to backup.read on component:default/shop')).toBeInTheDocument();
    expect(screen.queryByText('403: NotAllowedError')).not.toBeInTheDocument();
  });

  it('explains what to annotate on an entity Ferry cannot back up', async () => {
    const getStatus = jest.fn();
    await render(getStatus, { ...shop, metadata: { name: 'bare' } });
    expect(await screen.findByText(/Annotate this entity with one of/)).toHaveTextContent('ferry.io/helm-release');
    expect(getStatus).not.toHaveBeenCalled();
  });
});
