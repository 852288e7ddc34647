import type { PlatformOverview } from '@ferry/plugin-backup-common';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { GiB, responseError } from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { BackupPlatformPage } from './BackupPlatformPage';
import { incrementalSavings } from './StoredBytesChart';

const overview: PlatformOverview = {
  targets: [
    { name: 'local', type: 'filesystem', healthy: true, usedBytes: 12 * GiB },
    { name: 'offsite', type: 's3', healthy: false, message: 'bucket ferry-offsite: access denied' },
  ],
  policies: [
    {
      name: 'daily',
      target: 'local',
      schedule: '0 2 * * *',
      nextRun: new Date(Date.now() + 3 * 3600_000 + 60_000).toISOString(),
      keepLast: 7,
      fullEvery: 7,
      skipImageBackup: false,
    },
  ],
  coverage: [
    { entityRef: 'component:default/shop', title: 'Shop', protection: 'protected', lastBackupAt: new Date(Date.now() - 3 * 3600_000).toISOString() },
    { entityRef: 'component:default/ledger', title: 'Ledger', protection: 'unprotected' },
    { entityRef: 'component:default/search', title: 'Search', protection: 'at-risk', lastBackupAt: new Date(Date.now() - 4 * 86400_000).toISOString() },
  ],
  storedBytesOverTime: [
    { date: '2026-11-23', storedBytes: 2 * GiB, logicalBytes: 2 * GiB },
    { date: '2026-11-24', storedBytes: 2.5 * GiB, logicalBytes: 4 * GiB },
    { date: '2026-11-25', storedBytes: 3 * GiB, logicalBytes: 6 * GiB },
  ],
};

function render(getPlatformOverview: jest.Mock, deny: string[] = []) {
  return renderWithApis(<BackupPlatformPage />, { api: { getPlatformOverview }, entity: null, deny });
}

describe('BackupPlatformPage', () => {
  it('shows targets, policies, the storage chart and coverage with unprotected components first', async () => {
    await render(jest.fn().mockResolvedValue(overview));
    const targets = await screen.findByRole('table', { name: 'targets' });
    expect(within(targets).getByText('Healthy')).toBeInTheDocument();
    expect(within(targets).getByText('12.0 GiB')).toBeInTheDocument();
    expect(within(targets).getByText('Unhealthy')).toBeInTheDocument();
    expect(within(targets).getByText('bucket ferry-offsite: access denied')).toBeInTheDocument();

    const policies = screen.getByRole('table', { name: 'policies' });
    expect(within(policies).getByText('0 2 * * *')).toBeInTheDocument();
    expect(within(policies).getByText('in 3 h')).toBeInTheDocument();
    expect(within(policies).getByText('7 backups')).toBeInTheDocument();

    expect(screen.getByRole('img', { name: 'Stored bytes over 3 days' })).toBeInTheDocument();
    expect(screen.getByText('Incremental savings: 50%')).toBeInTheDocument();
    expect(screen.getByText('Stored: 3.0 GiB')).toBeInTheDocument();

    const titles = () => screen.getAllByRole('link').map(link => link.textContent).filter(t => ['Shop', 'Ledger', 'Search'].includes(t ?? ''));
    expect(titles()).toEqual(['Ledger', 'Search', 'Shop']);
    expect(screen.getByText('1 unprotected')).toBeInTheDocument();
    expect(screen.getByText('never')).toBeInTheDocument();
    expect(screen.getByText('4 days ago')).toBeInTheDocument();
    await userEvent.click(screen.getByLabelText('Only without a recent backup'));
    expect(titles()).toEqual(['Ledger', 'Search']);
  });

  it('tells a user without backup.admin.read who may see it, without asking the backend', async () => {
    const getPlatformOverview = jest.fn();
    await render(getPlatformOverview, ['backup.admin.read']);
    expect(await screen.findByText("The platform overview is for Ferry's administrators")).toBeInTheDocument();
    expect(screen.getByText(/needs the backup\.admin\.read permission/)).toHaveTextContent(
      'members of a group listed in ferry.permissions.adminRefs',
    );
    expect(screen.getByText(/Backups and Restores tabs/)).toBeInTheDocument();
    expect(
      screen.getByText('You are not allowed to see the platform overview (backup.admin.read).'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
    expect(getPlatformOverview).not.toHaveBeenCalled();
  });

  it("shows the backend's refusal when it still refuses", async () => {
    const error = await responseError(403, 'NotAllowedError', 'not allowed to backup.admin.read');
    await render(jest.fn().mockRejectedValue(error));
    expect((await screen.findAllByText(/not allowed to backup.admin.read/)).length).toBeGreaterThan(0);
  });

  it('explains an empty platform', async () => {
    await render(jest.fn().mockResolvedValue({ targets: [], policies: [], coverage: [], storedBytesOverTime: [] }));
    expect(await screen.findByText(/No targets configured/)).toBeInTheDocument();
    expect(screen.getByText(/No policies configured/)).toBeInTheDocument();
    expect(screen.getByText('No backups stored yet.')).toBeInTheDocument();
    expect(screen.getByText(/No component is annotated for backups yet/)).toBeInTheDocument();
  });

  it('computes the incremental savings of the latest day', () => {
    expect(incrementalSavings([])).toBeUndefined();
    expect(incrementalSavings(overview.storedBytesOverTime)).toBe(50);
    expect(incrementalSavings([{ date: 'd', storedBytes: 10, logicalBytes: 0 }])).toBeUndefined();
  });
});
