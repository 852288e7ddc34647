import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { BackupApi } from '../../api/BackupApi';
import { backupDetail, GiB, MiB, responseError, shop, shopRef } from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { BackupDetailDrawer } from './BackupDetailDrawer';

function render(api: Partial<BackupApi>, options: { deny?: string[] } = {}) {
  const callbacks = { onClose: jest.fn(), onRestore: jest.fn(), onDeleted: jest.fn() };
  const result = renderWithApis(
    <BackupDetailDrawer entity={shop} backupId="b2" {...callbacks} />,
    { api, ...options },
  );
  return result.then(() => callbacks);
}

const incremental = backupDetail({
  id: 'b2',
  kind: 'incremental',
  phase: 'PartiallyFailed',
  message: 'one volume and one hook failed',
  volumes: [
    {
      pvc: 'data-db-0',
      phase: 'Completed',
      bytesTotal: 2 * GiB,
      bytesDone: 2 * GiB,
      storedBytes: 12 * MiB,
      type: 'incremental',
      chain: ['b0', 'b1', 'b2'],
    },
    { pvc: 'cache', phase: 'Failed', bytesTotal: GiB, reason: 'no VolumeSnapshotClass for driver x' },
  ],
  failures: [
    { kind: 'Volume', name: 'cache', reason: 'no VolumeSnapshotClass for driver x' },
    { kind: 'Hook', name: 'flush-db', reason: 'exit code 1 after 30 s' },
  ],
  hooks: [
    {
      name: 'db-0/db: flush-db',
      stage: 'pre',
      source: 'spec',
      pod: 'db-0',
      container: 'db',
      command: ['flush-db'],
      outcome: 'Failed',
      onError: 'Fail',
      exitCode: 1,
      message: 'exit code 1',
    },
  ],
});

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('BackupDetailDrawer', () => {
  it('shows a partially failed backup: failure reasons, volume chain, resources, images, hooks', async () => {
    const getBackup = jest.fn().mockResolvedValue(incremental);
    await render({ getBackup, streamBackup: jest.fn() });
    expect(await screen.findByText('Backup b2')).toBeInTheDocument();
    const alert = await screen.findByRole('alert');
    expect(within(alert).getByText('2 items failed')).toBeInTheDocument();
    expect(within(alert).getByText('Volume cache')).toBeInTheDocument();
    expect(within(alert).getAllByText('no VolumeSnapshotClass for driver x').length).toBeGreaterThan(0);
    expect(within(alert).getByText('exit code 1 after 30 s')).toBeInTheDocument();

    const chain = screen.getByLabelText('chain');
    expect(within(chain).getAllByText(/^b\d/).map(e => e.textContent)).toEqual(['b0 (full)', 'b1', 'b2']);
    const volumes = screen.getByRole('table', { name: 'volumes' });
    expect(within(volumes).getByText('12.0 MiB')).toBeInTheDocument();
    expect(within(screen.getByRole('table', { name: 'resources' })).getByText('StatefulSet')).toBeInTheDocument();
    expect(screen.getByText('docker.io/library/postgres:16')).toBeInTheDocument();
    expect(within(screen.getByRole('table', { name: 'hooks' })).getByText('Failed')).toBeInTheDocument();
    expect(getBackup).toHaveBeenCalledWith(shopRef, 'b2');
  });

  it('lists images: stored or not, and the digest shortened with the full one in a tooltip', async () => {
    const getBackup = jest.fn().mockResolvedValue(
      backupDetail({
        id: 'b2',
        images: [
          { image: 'docker.io/library/postgres:16', digest, stored: true },
          { image: 'registry.internal/shop/web:1.4', stored: false },
        ],
        failures: [{ kind: 'Image', name: 'registry.internal/shop/web:1.4', reason: 'unauthorized' }],
      }),
    );
    await render({ getBackup, streamBackup: jest.fn() });
    const images = await screen.findByRole('table', { name: 'images' });
    const rows = within(images).getAllByRole('row').slice(1);
    expect(rows[0]).toHaveTextContent('docker.io/library/postgres:16sha256:0123456789abStored');
    expect(rows[1]).toHaveTextContent('registry.internal/shop/web:1.4—Not stored');
    const short = within(rows[0]).getByText('sha256:0123456789ab');
    expect(short).toHaveAttribute('title', digest);
    await userEvent.hover(short);
    expect(await screen.findByRole('tooltip')).toHaveTextContent(digest);
  });

  it('offers restore of a finished backup', async () => {
    const callbacks = await render({ getBackup: jest.fn().mockResolvedValue(incremental) });
    const restore = await screen.findByRole('button', { name: /restore…/i });
    await waitFor(() => expect(restore).toBeEnabled());
    await userEvent.click(restore);
    expect(callbacks.onRestore).toHaveBeenCalledWith(expect.objectContaining({ id: 'b2' }));
  });

  it('blocks delete with the reason the backend gives', async () => {
    await render({
      getBackup: jest.fn().mockResolvedValue(
        backupDetail({ id: 'b2', deletion: { allowed: false, reason: 'b3 and b4 are incrementals on top of it; retention keeps them' } }),
      ),
    });
    const remove = await screen.findByRole('button', { name: /delete/i });
    await waitFor(() =>
      expect(remove.closest('span[title]')).toHaveAttribute(
        'title',
        'b3 and b4 are incrementals on top of it; retention keeps them',
      ),
    );
    expect(remove).toBeDisabled();
  });

  it('shows how the backup is protected, and that its lock blocks delete until when', async () => {
    const until = new Date(Date.now() + 86_400_000).toISOString();
    const getBackup = jest.fn().mockResolvedValue(
      backupDetail({
        id: 'b2',
        protection: { encryption: { keyId: '799ac898baf724c2' }, lock: { mode: 'governance', until } },
        deletion: { allowed: false, reason: `it is locked (object lock, governance mode) until ${until}` },
      }),
    );
    await render({ getBackup, streamBackup: jest.fn() });
    const protection = await screen.findByLabelText('protection');
    expect(within(protection).getByText('Encrypted · key 799ac898baf724c2')).toBeInTheDocument();
    expect(within(protection).getByText(/^Locked until .* UTC \(governance\)$/)).toBeInTheDocument();
    const remove = screen.getByRole('button', { name: /delete/i });
    expect(remove).toBeDisabled();
    await waitFor(() =>
      expect(remove.closest('span[title]')).toHaveAttribute('title', `it is locked (object lock, governance mode) until ${until}`),
    );
  });

  it('blocks delete and restore when not permitted', async () => {
    await render(
      { getBackup: jest.fn().mockResolvedValue(backupDetail({ id: 'b2' })) },
      { deny: ['backup.delete', 'backup.restore'] },
    );
    const remove = await screen.findByRole('button', { name: /delete/i });
    await waitFor(() =>
      expect(remove.closest('span[title]')).toHaveAttribute(
        'title',
        'You are not allowed to delete backups of component:default/shop (backup.delete).',
      ),
    );
    expect(remove).toBeDisabled();
    expect(screen.getByRole('button', { name: /restore…/i })).toBeDisabled();
  });

  it('deletes after confirmation, and shows a refusal', async () => {
    const conflict = await responseError(409, 'ConflictError', 'backup b2 is locked by a running restore');
    const deleteBackup = jest.fn().mockRejectedValueOnce(conflict).mockResolvedValueOnce(undefined);
    const callbacks = await render({
      getBackup: jest.fn().mockResolvedValue(backupDetail({ id: 'b2' })),
      deleteBackup,
    });
    const remove = await screen.findByRole('button', { name: /delete/i });
    await waitFor(() => expect(remove).toBeEnabled());
    await userEvent.click(remove);
    const dialog = await screen.findByRole('dialog', { name: 'Delete backup b2?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    expect((await within(dialog).findAllByText(/backup b2 is locked by a running restore/)).length).toBeGreaterThan(0);
    expect(callbacks.onDeleted).not.toHaveBeenCalled();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(callbacks.onDeleted).toHaveBeenCalled());
    expect(deleteBackup).toHaveBeenCalledWith(shopRef, 'b2');
    expect(deleteBackup).toHaveBeenCalledTimes(2);
  });

  it('shows the error when the backup cannot be read', async () => {
    const error = await responseError(404, 'NotFoundError', 'backup b2 of component:default/shop not found');
    await render({ getBackup: jest.fn().mockRejectedValue(error) });
    expect((await screen.findAllByText(/backup b2 of component:default\/shop not found/)).length).toBeGreaterThan(0);
  });
});
