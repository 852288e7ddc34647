import { renderInTestApp } from '@backstage/test-utils';
import { screen } from '@testing-library/react';
import { TargetProtection } from './TargetProtection';
import { TargetsTable } from './TargetsTable';
import { PoliciesTable } from './PoliciesTable';

describe('TargetProtection', () => {
  it('shows where the key is, its id and the Object Lock of an encrypted, locked target', async () => {
    await renderInTestApp(
      <TargetProtection
        protection={{
          encryption: { secret: 'ferry-system/backup-key (data key key, cluster prod)', keyId: '799ac898baf724c2' },
          objectLock: { mode: 'governance', days: 30 },
        }}
      />,
    );
    expect(screen.getByText('Encrypted · key 799ac898baf724c2')).toBeInTheDocument();
    expect(screen.getByText('Key in Secret ferry-system/backup-key (data key key, cluster prod)')).toBeInTheDocument();
    expect(screen.getByText('Object Lock: governance, 30 days')).toBeInTheDocument();
  });

  it('shows why the key cannot be read, and a target with neither', async () => {
    await renderInTestApp(
      <>
        <TargetProtection protection={{ encryption: { secret: 'ferry-system/k', problem: 'Secret ferry-system/k does not exist' } }} />
        <TargetProtection />
      </>,
    );
    expect(screen.getByText('Encrypted')).toBeInTheDocument();
    expect(screen.getByText('Secret ferry-system/k does not exist')).toBeInTheDocument();
    expect(screen.getByText('Not locked')).toBeInTheDocument();
    expect(screen.getByText('Not encrypted, not locked')).toBeInTheDocument();
  });

  it('is a column of the targets table; policies show their compression', async () => {
    await renderInTestApp(
      <>
        <TargetsTable
          targets={[
            { name: 'vault', type: 's3', healthy: true, protection: { objectLock: { mode: 'compliance', days: 1 } } },
            { name: 'local', type: 'filesystem', healthy: true },
          ]}
        />
        <PoliciesTable
          policies={[
            { name: 'daily', target: 'local', fullEvery: 7, skipImageBackup: false, compression: 'zstd' },
            { name: 'weekly', target: 'vault', fullEvery: 4, skipImageBackup: false },
          ]}
        />
      </>,
    );
    expect(screen.getByRole('columnheader', { name: 'Protection' })).toBeInTheDocument();
    expect(screen.getByText('Object Lock: compliance, 1 day')).toBeInTheDocument();
    expect(screen.getByText('Not encrypted, not locked')).toBeInTheDocument();
    expect(screen.getByRole('columnheader', { name: 'Compression' })).toBeInTheDocument();
    expect(screen.getByText('zstd')).toBeInTheDocument();
    expect(screen.getByText('none')).toBeInTheDocument();
  });
});
