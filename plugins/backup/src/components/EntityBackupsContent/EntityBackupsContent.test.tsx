import type { Entity } from '@backstage/catalog-model';
import type { BackupDetail } from '@ferry/plugin-backup-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { BackupApi, StreamOptions } from '../../api/BackupApi';
import {
  backupDetail,
  backupSummary,
  GiB,
  responseError,
  shop,
  shopRef,
} from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { EntityBackupsContent } from './EntityBackupsContent';

function render(api: Partial<BackupApi>, options: { deny?: string[]; entity?: Entity } = {}) {
  return renderWithApis(<EntityBackupsContent />, { api, ...options });
}

const list = (...items: ReturnType<typeof backupSummary>[]) =>
  jest.fn().mockResolvedValue({ entityRef: 'component:default/shop', items, totalCount: items.length });

const running = backupSummary({ id: 'b9', phase: 'Running', completedAt: undefined, storedBytes: undefined });
const runningDetail = (bytesDone: number, phase: BackupDetail['phase'] = 'Running') =>
  backupDetail({
    ...running,
    phase,
    step: 'Transfer',
    volumes: [{ pvc: 'data-db-0', phase: 'Transferring', bytesTotal: 2 * GiB, bytesDone, type: 'full' }],
    timeline: [{ time: '2026-11-25T10:00:03Z', step: 'Snapshots', message: '1 VolumeSnapshot ready' }],
  });

describe('EntityBackupsContent', () => {
  it('shows the empty state with the Back up now button', async () => {
    const listBackups = list();
    await render({ listBackups });
    expect(await screen.findByText('No backups yet for shop')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /back up now/i })).toBeEnabled();
    expect(listBackups).toHaveBeenCalledWith(
      { kind: 'Component', namespace: 'default', name: 'shop' },
      { limit: 10, offset: 0 },
    );
  });

  it('shows a progress bar while the history loads', async () => {
    await render({ listBackups: jest.fn(() => new Promise<never>(() => {})) });
    expect(await screen.findByTestId('progress')).toBeInTheDocument();
  });

  it('lists backups with their phase, sizes and who started them', async () => {
    await render({
      listBackups: list(
        backupSummary({ id: 'b2', kind: 'incremental', phase: 'PartiallyFailed', storedBytes: 1536 }),
        backupSummary({ id: 'b1' }),
      ),
    });
    expect(await screen.findByText('Backups of shop')).toBeInTheDocument();
    expect(screen.getByText('Incremental')).toBeInTheDocument();
    expect(screen.getByText('Partially failed')).toBeInTheDocument();
    expect(screen.getByText('1.5 KiB')).toBeInTheDocument();
    expect(screen.getByText('300 MiB')).toBeInTheDocument();
    expect(screen.getAllByText('1 min 5 s')).toHaveLength(2);
    expect(screen.getAllByText('ann')).toHaveLength(2);
    expect(screen.getByRole('button', { name: 'restore b1' })).toBeEnabled();
  });

  it('opens the restore wizard from a row and the details drawer from a click', async () => {
    const getBackup = jest.fn().mockResolvedValue(backupDetail({ id: 'b1' }));
    await render({ listBackups: list(backupSummary({ id: 'b1' })), getBackup });
    const restore = await screen.findByRole('button', { name: 'restore b1' });
    await waitFor(() => expect(restore).toBeEnabled());
    await userEvent.click(restore);
    const wizard = await screen.findByRole('dialog', { name: 'Restore backup b1' });
    expect(within(wizard).getByLabelText(/target namespace/i)).toHaveValue('shop');
    expect(getBackup).not.toHaveBeenCalled();
    await userEvent.click(within(wizard).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());

    await userEvent.click(screen.getByText('daily'));
    expect(await screen.findByText('Backup b1')).toBeInTheDocument();
    expect(getBackup).toHaveBeenCalledWith(shopRef, 'b1');
  });

  it('shows the API error message', async () => {
    const error = await responseError(403, 'NotAllowedError', 'not allowed to backup.read on component:default/shop');
    await render({ listBackups: jest.fn().mockRejectedValue(error) });
    const messages = await screen.findAllByText(/not allowed to backup.read on component:default\/shop/);
    expect(messages.length).toBeGreaterThan(0);
    expect(screen.getByText('403: NotAllowedError')).toBeInTheDocument();
    expect(screen.queryByText('Backups of shop')).not.toBeInTheDocument();
  });

  it('explains which annotations enable backups', async () => {
    const listBackups = jest.fn();
    await render({ listBackups }, { entity: { ...shop, metadata: { name: 'bare' } } });
    expect((await screen.findAllByText(/ferry\.io\/helm-release/))[0]).toBeVisible();
    expect(screen.getByText(/Missing Annotation/i)).toBeInTheDocument();
    expect(listBackups).not.toHaveBeenCalled();
  });

  it('disables Back up now and Restore with the reason when not permitted', async () => {
    const createBackup = jest.fn();
    const { permissionApi } = await render(
      { listBackups: list(backupSummary({ id: 'b1' })), createBackup },
      { deny: ['backup.create', 'backup.restore'] },
    );
    const button = await screen.findByRole('button', { name: /back up now/i });
    await waitFor(() => expect(button).toBeDisabled());
    expect(button.closest('span[title]')).toHaveAttribute(
      'title',
      'You are not allowed to back up component:default/shop (backup.create).',
    );
    const restore = screen.getByRole('button', { name: 'restore b1' });
    await waitFor(() => expect(restore).toBeDisabled());
    expect(restore.closest('span[title]')).toHaveAttribute(
      'title',
      'You are not allowed to restore component:default/shop (backup.restore).',
    );
    expect(permissionApi.authorize).toHaveBeenCalledWith(
      expect.objectContaining({
        permission: expect.objectContaining({ name: 'backup.create' }),
        resourceRef: 'component:default/shop',
      }),
    );
    expect(createBackup).not.toHaveBeenCalled();
  });

  it('starts a backup of the chosen type and reloads the history', async () => {
    const listBackups = list(backupSummary({ id: 'b1' }));
    const createBackup = jest.fn().mockResolvedValue(backupSummary({ id: 'b2', phase: 'Pending' }));
    await render({ listBackups, createBackup });
    const button = await screen.findByRole('button', { name: /back up now/i });
    await waitFor(() => expect(button).toBeEnabled());
    await userEvent.click(button);
    await waitFor(() => expect(createBackup).toHaveBeenCalledWith(shopRef, { type: 'auto' }));
    await waitFor(() => expect(listBackups).toHaveBeenCalledTimes(2));

    await userEvent.click(screen.getByRole('button', { name: 'choose backup type' }));
    await userEvent.click(await screen.findByRole('menuitem', { name: /^Full/ }));
    await waitFor(() => expect(createBackup).toHaveBeenLastCalledWith(shopRef, { type: 'full' }));
  });

  it('shows the backend refusal to start a backup', async () => {
    const error = await responseError(409, 'ConflictError', 'a backup of component:default/shop is already running');
    await render({ listBackups: list(), createBackup: jest.fn().mockRejectedValue(error) });
    const button = await screen.findByRole('button', { name: /back up now/i });
    await waitFor(() => expect(button).toBeEnabled());
    await userEvent.click(button);
    expect(
      (await screen.findAllByText(/a backup of component:default\/shop is already running/)).length,
    ).toBeGreaterThan(0);
  });

  it('follows a running backup live: progress bars from the event stream, then reloads', async () => {
    let streamOptions: StreamOptions<BackupDetail> | undefined;
    let endStream: () => void = () => {};
    const getBackup = jest
      .fn()
      .mockResolvedValueOnce(runningDetail(1 * GiB))
      .mockResolvedValue(runningDetail(2 * GiB, 'Completed'));
    const streamBackup = jest.fn(
      (_ref, _id, options: StreamOptions<BackupDetail>) =>
        new Promise<void>(resolve => {
          streamOptions = options;
          endStream = resolve;
        }),
    );
    const listBackups = list(running);
    await render({ listBackups, getBackup, streamBackup });

    expect(await screen.findByText('Full backup in progress')).toBeInTheDocument();
    expect(await screen.findByText('1.0 GiB of 2.0 GiB (50%)')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'data-db-0 progress' })).toHaveAttribute('aria-valuenow', '50');
    expect(screen.getByText(/1 VolumeSnapshot ready/)).toBeInTheDocument();
    expect(screen.getByText(/step: Transfer/)).toBeInTheDocument();
    expect(screen.getByText('(Live)')).toBeInTheDocument();
    expect(streamBackup).toHaveBeenCalledWith(shopRef, 'b9', expect.anything());

    streamOptions!.onProgress(runningDetail(1.5 * GiB));
    expect(await screen.findByText('1.5 GiB of 2.0 GiB (75%)')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'data-db-0 progress' })).toHaveAttribute('aria-valuenow', '75');

    endStream();
    await waitFor(() => expect(listBackups).toHaveBeenCalledTimes(2));
    expect(getBackup).toHaveBeenCalledTimes(2);
  });

  it('polls every two seconds when the event stream fails', async () => {
    const getBackup = jest
      .fn()
      .mockResolvedValueOnce(runningDetail(1 * GiB))
      .mockResolvedValue(runningDetail(1.5 * GiB));
    await render({
      listBackups: list(running),
      getBackup,
      streamBackup: jest.fn().mockRejectedValue(new Error('stream closed')),
    });
    expect(await screen.findByText('1.0 GiB of 2.0 GiB (50%)')).toBeInTheDocument();
    expect(await screen.findByText('(Refreshing every 2 s)')).toBeInTheDocument();
    expect(await screen.findByText('1.5 GiB of 2.0 GiB (75%)', {}, { timeout: 8000 })).toBeInTheDocument();
    expect(getBackup).toHaveBeenCalledTimes(2);
  });
});
