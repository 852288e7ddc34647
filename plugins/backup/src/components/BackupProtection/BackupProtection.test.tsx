import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { BackupProtection, formatLockDate } from './BackupProtection';

const now = Date.parse('2026-12-07T12:00:00Z');

describe('BackupProtection', () => {
  it('shows the key id, the codec and the end of an active lock with its mode', async () => {
    render(
      <BackupProtection
        now={now}
        protection={{
          encryption: { keyId: '799ac898baf724c2' },
          compression: 'zstd',
          lock: { mode: 'compliance', until: '2026-12-08T12:34:56.789Z' },
        }}
      />,
    );
    const box = screen.getByLabelText('protection');
    expect(within(box).getByText('Encrypted · key 799ac898baf724c2')).toBeInTheDocument();
    expect(within(box).getByText('Compressed · zstd')).toBeInTheDocument();
    expect(within(box).getByText('Locked until 2026-12-08 12:34 UTC (compliance)')).toBeInTheDocument();
    await userEvent.hover(within(box).getByText('Locked until 2026-12-08 12:34 UTC (compliance)'));
    expect(await screen.findByText('S3 Object Lock, compliance mode: nobody can delete it before then')).toBeInTheDocument();
  });

  it('says when a backup is in the clear, not locked, or its lock has ended', () => {
    const { rerender } = render(<BackupProtection now={now} />);
    expect(screen.getByText('Not encrypted')).toBeInTheDocument();
    expect(screen.getByText('Not locked')).toBeInTheDocument();
    expect(screen.queryByText(/Compressed/)).not.toBeInTheDocument();
    rerender(<BackupProtection now={now} protection={{ lock: { mode: 'governance', until: '2026-12-01T00:00:00.000Z' } }} />);
    expect(screen.getByText('Lock ended 2026-12-01 00:00 UTC')).toBeInTheDocument();
    expect(screen.queryByText(/Locked until/)).not.toBeInTheDocument();
    expect(formatLockDate('2027-01-02T03:04:05.000Z')).toBe('2027-01-02 03:04 UTC');
  });
});
