import type { DryRunResult } from '@ferry/plugin-backup-common';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { BackupApi } from '../../api/BackupApi';
import {
  backupSummary,
  GiB,
  responseError,
  restoreDetail,
  restoreSummary,
  shop,
  shopRef,
} from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { RestoreWizard } from './RestoreWizard';

const preview: DryRunResult = {
  dryRun: true,
  backupId: 'b1',
  cluster: 'sandbox',
  namespace: 'shop-restored',
  objects: [
    { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'shop-restored', action: 'create' },
    { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'shop-restored', action: 'create' },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'settings',
      namespace: 'shop-restored',
      action: 'patch',
      diff: '--- live\n+++ restored\n@@ -1,2 +1,2 @@\n-  mode: debug\n+  mode: production',
    },
    { apiVersion: 'v1', kind: 'Secret', name: 'tls', namespace: 'shop-restored', action: 'skip', reason: 'exists and existing=skip' },
  ],
  volumes: [{ pvc: 'data-db-0', storageClass: 'ferry-sandbox', sizeBytes: 2 * GiB, action: 'create' }],
  unreachableImages: ['registry.internal/shop/web:1.4'],
  warnings: ['storage class standard is mapped to ferry-sandbox'],
};

async function render(api: Partial<BackupApi>, options: { deny?: string[] } = {}) {
  const callbacks = { onClose: jest.fn(), onCreated: jest.fn() };
  await renderWithApis(
    <RestoreWizard entity={shop} backup={backupSummary({ id: 'b1' })} {...callbacks} />,
    { api, ...options },
  );
  return callbacks;
}

/** Sets a text field's value (one change event: typing each key is slow and proves nothing here). */
async function type(label: RegExp | string, text: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value: text } });
}

describe('RestoreWizard', () => {
  it('previews the restore with a dry run, then creates it and follows its progress', async () => {
    const createRestore = jest
      .fn()
      .mockResolvedValueOnce(preview)
      .mockResolvedValueOnce(restoreSummary({ id: 'r9', phase: 'Pending' }));
    const getRestore = jest.fn().mockResolvedValue(
      restoreDetail({ id: 'r9', phase: 'Completed', namespace: 'shop-restored' }),
    );
    const callbacks = await render({ createRestore, getRestore, streamRestore: jest.fn() });

    // Step 1: target and flags.
    expect(screen.getByLabelText(/target cluster/i)).toHaveValue('sandbox');
    await type(/target namespace/i, 'shop-restored');
    await userEvent.click(screen.getByLabelText('Patch them to the backed-up state'));
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));

    // Step 2: transforms and image restore.
    await userEvent.click(screen.getByRole('button', { name: /add storage class map entry/i }));
    await type('Storage class in the backup', 'standard');
    await type('Storage class to use', 'ferry-sandbox');
    await type(/omit labels/i, 'team');
    await userEvent.click(screen.getByLabelText(/push backed-up images/i));
    await type(/^registry/i, 'registry.local:5000');
    await type(/auth secret/i, 'pull-secret');
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));

    // Step 3: the dry run.
    await waitFor(() => expect(createRestore).toHaveBeenCalledTimes(1));
    const expected = {
      backupId: 'b1',
      cluster: 'sandbox',
      namespace: 'shop-restored',
      scope: 'all',
      existing: 'patch',
      omitLabels: ['team'],
      transforms: { storageClassMap: { standard: 'ferry-sandbox' } },
      imageRestore: { registry: 'registry.local:5000', authSecret: 'pull-secret', overrideImageIfExist: false },
    };
    expect(createRestore).toHaveBeenCalledWith(shopRef, { ...expected, dryRun: true });
    expect(await screen.findByText('2 to create')).toBeInTheDocument();
    expect(screen.getByText('1 to patch')).toBeInTheDocument();
    expect(screen.getByText('1 to skip')).toBeInTheDocument();
    expect(screen.getByText('exists and existing=skip')).toBeInTheDocument();
    expect(screen.getByText('registry.internal/shop/web:1.4')).toBeInTheDocument();
    expect(screen.getByText(/will be pushed from the backup/)).toBeInTheDocument();
    expect(screen.getByText('storage class standard is mapped to ferry-sandbox')).toBeInTheDocument();
    expect(screen.queryByText(/mode: production/)).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'show diff of ConfigMap settings' }));
    expect(await screen.findByText('+ mode: production')).toBeInTheDocument();
    expect(screen.getByText('- mode: debug')).toBeInTheDocument();

    // Confirm: the same request without dryRun.
    await userEvent.click(screen.getByRole('button', { name: 'Restore' }));
    await waitFor(() => expect(createRestore).toHaveBeenCalledTimes(2));
    expect(createRestore).toHaveBeenLastCalledWith(shopRef, expected);
    expect(callbacks.onCreated).toHaveBeenCalledWith(expect.objectContaining({ id: 'r9' }));
    expect(await screen.findByText('Completed')).toBeInTheDocument();
    expect(getRestore).toHaveBeenCalledWith(shopRef, 'r9');
    expect(screen.getByText('Open in the Restores tab').closest('a')).toHaveAttribute(
      'href',
      '/catalog/default/component/shop/restores?restore=r9',
    );
  });

  it('names wrong fields and calls nothing', async () => {
    const createRestore = jest.fn();
    await render({ createRestore });
    await type(/target namespace/i, 'Shop_Restored');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(screen.getByText(/a namespace is a lower-case DNS label/)).toBeInTheDocument();
    expect(screen.getByLabelText(/target namespace/i)).toBeInTheDocument();
    await type(/target namespace/i, 'shop-2');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(screen.getByLabelText(/push backed-up images/i));
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    expect(screen.getByText('a registry is required to restore images')).toBeInTheDocument();
    expect(createRestore).not.toHaveBeenCalled();
  });

  it('shows the dry run refusal and does not let the restore start', async () => {
    const error = await responseError(403, 'NotAllowedError', 'not allowed to restore into namespace other-team');
    const createRestore = jest.fn().mockRejectedValue(error);
    await render({ createRestore });
    await type(/target namespace/i, 'other-team');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    expect((await screen.findAllByText(/not allowed to restore into namespace other-team/)).length).toBeGreaterThan(0);
    expect(screen.getByRole('button', { name: 'Restore' })).toBeDisabled();
    expect(createRestore).toHaveBeenCalledTimes(1);
  });

  it('warns that restoring elsewhere needs backup.restore.anywhere', async () => {
    await render({}, { deny: ['backup.restore.anywhere'] });
    expect(screen.queryByText(/may be refused/)).not.toBeInTheDocument();
    await type(/target namespace/i, 'shop-2');
    expect(await screen.findByText(/may be refused/)).toHaveTextContent('(backup.restore.anywhere)');
  });
});
