import type { DryRunResult } from '@ferry/plugin-backup-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { BackupApi } from '../../api/BackupApi';
import {
  adminRestoreOptions,
  backupSummary,
  GiB,
  ownerRestoreOptions,
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
  images: [
    { image: 'docker.io/library/postgres:16', reachable: true, stored: true, action: 'original' },
    {
      image: 'registry.internal/shop/web:1.4',
      reachable: false,
      stored: true,
      action: 'push',
      reason: 'lookup registry.internal: no such host',
    },
  ],
  warnings: ['storage class standard is mapped to ferry-sandbox'],
};

/** The same dry run without image restore: the web image can neither be pulled nor pushed. */
const withoutImageRestore: DryRunResult = {
  ...preview,
  images: [
    preview.images[0],
    {
      ...preview.images[1],
      action: 'unavailable',
      reason: 'lookup registry.internal: no such host; image restore is not configured (imageRestore)',
    },
    {
      image: 'registry.internal/shop/worker:2.0',
      reachable: false,
      stored: false,
      action: 'unavailable',
      reason: 'lookup registry.internal: no such host; the backup holds no copy of it',
    },
  ],
  warnings: [
    'image registry.internal/shop/web:1.4 cannot be pulled and will not be pushed: lookup registry.internal: no such host; image restore is not configured (imageRestore)',
    'storage class standard is mapped to ferry-sandbox',
  ],
};

/**
 * Renders the wizard for backup b1 (taken from sandbox/shop); the user is an administrator of two
 * clusters unless `getRestoreOptions` says otherwise.
 */
async function render(api: Partial<BackupApi>, options: { deny?: string[] } = {}) {
  const callbacks = { onClose: jest.fn(), onCreated: jest.fn() };
  const getRestoreOptions = jest.fn().mockResolvedValue(adminRestoreOptions('production', 'sandbox'));
  await renderWithApis(
    <RestoreWizard entity={shop} backup={backupSummary({ id: 'b1' })} {...callbacks} />,
    { api: { getRestoreOptions, ...api }, ...options },
  );
  return callbacks;
}

/** The target cluster select, once the restore options are loaded (and it can be chosen). */
async function clusterSelect() {
  const select = screen.getByRole('button', { name: /target cluster/i });
  await waitFor(() => expect(select).not.toHaveAttribute('aria-disabled'));
  return select;
}

/** The note that says where this user may restore, once the options are loaded. */
const targetNote = () => screen.findByText(/You may restore/);

/** The options of the target cluster select, as shown. */
async function clusterOptions() {
  await userEvent.click(await clusterSelect());
  const listbox = await screen.findByRole('listbox');
  return within(listbox).getAllByRole('option').map(option => option.textContent);
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
    expect(await clusterSelect()).toHaveTextContent('sandbox');
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
      imageRestore: { registry: 'registry.local:5000', authSecret: 'pull-secret' },
    };
    expect(createRestore).toHaveBeenCalledWith(shopRef, { ...expected, dryRun: true });
    expect(await screen.findByText('2 to create')).toBeInTheDocument();
    expect(screen.getByText('1 to patch')).toBeInTheDocument();
    expect(screen.getByText('1 to skip')).toBeInTheDocument();
    expect(screen.getByText('exists and existing=skip')).toBeInTheDocument();
    const images = screen.getByRole('table', { name: 'images' });
    expect(within(images).getAllByRole('row').slice(1).map(row => row.textContent)).toEqual([
      'docker.io/library/postgres:16Use originalStored',
      'registry.internal/shop/web:1.4Push to registry.local:5000Storedlookup registry.internal: no such host',
    ]);
    expect(screen.queryByText(/unavailable/)).not.toBeInTheDocument();
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

  it('warns about unavailable images and goes back to configure image restore', async () => {
    const createRestore = jest.fn().mockResolvedValueOnce(withoutImageRestore).mockResolvedValueOnce(preview);
    await render({ createRestore });
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    expect(createRestore).toHaveBeenLastCalledWith(shopRef, expect.not.objectContaining({ imageRestore: expect.anything() }));

    const alert = await screen.findByText('2 images are unavailable');
    const warning = alert.closest('[role="alert"]') as HTMLElement;
    expect(within(warning).getByText('registry.internal/shop/web:1.4').closest('li')).toHaveTextContent(
      'the backup holds a copy',
    );
    expect(within(warning).getByText('registry.internal/shop/worker:2.0').closest('li')).toHaveTextContent(
      'no copy in the backup',
    );
    expect(warning).toHaveTextContent(/holds a copy of one of them: configure image restore/);
    expect(warning).toHaveTextContent(/holds no copy of one of them/);
    // The backend's own warning about the same image is not repeated; the others are shown.
    expect(screen.queryByText(/cannot be pulled and will not be pushed/)).not.toBeInTheDocument();
    expect(screen.getByText('storage class standard is mapped to ferry-sandbox')).toBeInTheDocument();
    const rows = within(screen.getByRole('table', { name: 'images' })).getAllByRole('row');
    expect(within(rows[2]).getByText('Unavailable')).toBeInTheDocument();
    expect(within(rows[3]).getByText('Not stored')).toBeInTheDocument();

    await userEvent.click(within(warning).getByRole('button', { name: 'Configure image restore' }));
    expect(screen.getByLabelText(/push backed-up images/i)).toBeChecked();
    expect(screen.getByLabelText(/repository/i)).toHaveAttribute('placeholder', 'ferry/shop');
    await type(/^registry/i, 'registry.local:5000');
    await userEvent.click(screen.getByLabelText(/overwrite an existing image/i));
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    await waitFor(() => expect(createRestore).toHaveBeenCalledTimes(2));
    expect(createRestore).toHaveBeenLastCalledWith(
      shopRef,
      expect.objectContaining({ imageRestore: { registry: 'registry.local:5000', overrideImageIfExist: true } }),
    );
    expect(await screen.findByText('Push to registry.local:5000')).toBeInTheDocument();
    expect(screen.queryByText(/images? (is|are) unavailable/)).not.toBeInTheDocument();
  });

  it('checks the image restore fields as the backend does', async () => {
    const createRestore = jest.fn();
    await render({ createRestore });
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(screen.getByLabelText(/push backed-up images/i));
    await type(/^registry/i, 'https://registry.local:5000/shop');
    await type(/repository/i, 'Restored/Shop');
    await type(/auth secret/i, 'Pull_Secret');
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    expect(screen.getByText(/a registry is a host with an optional port/)).toBeInTheDocument();
    expect(screen.getByText(/a repository is lower-case path components/)).toBeInTheDocument();
    expect(screen.getByText(/the name of a Secret/)).toBeInTheDocument();
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

  it("offers a service owner only the entity's namespace and cluster, and says why", async () => {
    const createRestore = jest.fn().mockResolvedValue(preview);
    const getRestoreOptions = jest.fn().mockResolvedValue({ ...ownerRestoreOptions, namespace: 'shop-prod' });
    await render({ createRestore, getRestoreOptions });
    expect(await targetNote()).toHaveTextContent(
      "You may restore shop's backups only into sandbox / shop-prod, where shop runs: a service owner restores into their own application's namespace. Restoring into another namespace or cluster needs the backup.restore.anywhere permission (platform administrators).",
    );
    expect(getRestoreOptions).toHaveBeenCalledWith(shopRef);
    // The only choice, shown and not editable: the entity's namespace, not the backup's.
    expect(screen.getByLabelText(/target namespace/i)).toHaveValue('shop-prod');
    expect(screen.getByLabelText(/target namespace/i)).toBeDisabled();
    const cluster = screen.getByRole('button', { name: /target cluster/i });
    expect(cluster).toHaveTextContent('sandbox');
    expect(cluster).toHaveAttribute('aria-disabled', 'true');

    // The transforms step says what their patches may change, and where a namespace map may go.
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    const rules = screen.getByRole('alert', { name: 'fields you may patch' });
    expect(rules).toHaveTextContent('Your patches may change only what a service owner may change');
    expect(within(rules).getAllByRole('listitem').map(item => item.textContent)).toEqual([
      'labels and annotations (metadata.labels, metadata.annotations)',
      'spec.replicas of Deployments, StatefulSets, ReplicaSets and ReplicationControllers',
      "a container's or init container's image, command, args, env, envFrom, resources and imagePullPolicy",
      "a pod template's labels and annotations",
      "a claim's (or a StatefulSet claim template's) storageClassName and resources",
      'ConfigMap data and binaryData, Secret data and stringData',
    ]);
    expect(rules).toHaveTextContent(/securityContext.*needs the backup\.restore\.privileged permission/);
    expect(
      screen.getByText('You may map only into shop-prod: other namespaces need the backup.restore.anywhere permission.'),
    ).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    await waitFor(() =>
      expect(createRestore).toHaveBeenCalledWith(
        shopRef,
        expect.objectContaining({ cluster: 'sandbox', namespace: 'shop-prod', dryRun: true }),
      ),
    );
  });

  it('lets an administrator type any namespace and pick any configured cluster', async () => {
    const createRestore = jest.fn().mockResolvedValue(preview);
    await render({ createRestore, getRestoreOptions: jest.fn().mockResolvedValue(adminRestoreOptions('production', 'sandbox', 'staging')) });
    expect(await targetNote()).toHaveTextContent(
      'You may restore into any namespace, in any of the configured clusters (production, sandbox, staging): you have the backup.restore.anywhere permission. shop runs in sandbox / shop.',
    );
    expect(await clusterOptions()).toEqual(['production', 'sandbox', 'staging']);
    await userEvent.click(screen.getByRole('option', { name: 'staging' }));
    expect(screen.getByLabelText(/target namespace/i)).toBeEnabled();
    await type(/target namespace/i, 'shop-copy');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(screen.queryByRole('alert', { name: 'fields you may patch' })).not.toBeInTheDocument();
    expect(screen.getByText(/You may patch any field \(backup\.restore\.privileged\), except/)).toBeInTheDocument();
    expect(screen.queryByText(/You may map only into/)).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    await waitFor(() =>
      expect(createRestore).toHaveBeenCalledWith(
        shopRef,
        expect.objectContaining({ cluster: 'staging', namespace: 'shop-copy', dryRun: true }),
      ),
    );
  });

  describe('target cluster', () => {
    it("is a select of the clusters this user may restore into, the backup's own chosen", async () => {
      const getRestoreOptions = jest.fn().mockResolvedValue(adminRestoreOptions('production', 'sandbox', 'staging'));
      await render({ getRestoreOptions });
      expect(await clusterSelect()).toHaveTextContent('sandbox');
      expect(screen.getByText('The backup was taken from sandbox / shop')).toBeInTheDocument();
      expect(await clusterOptions()).toEqual(['production', 'sandbox', 'staging']);
      expect(getRestoreOptions).toHaveBeenCalledTimes(1);
    });

    it("adds the backup's cluster when it is not configured, and marks it", async () => {
      await render({ getRestoreOptions: jest.fn().mockResolvedValue(adminRestoreOptions('production')) });
      expect(await clusterSelect()).toHaveTextContent('sandbox (not configured)');
      expect(await clusterOptions()).toEqual(['production', 'sandbox (not configured)']);
    });

    it('keeps the choice when going back, without loading the options again', async () => {
      const createRestore = jest.fn().mockResolvedValue(preview);
      const getRestoreOptions = jest.fn().mockResolvedValue(adminRestoreOptions('production', 'sandbox'));
      await render({ createRestore, getRestoreOptions });
      await clusterOptions();
      await userEvent.click(screen.getByRole('option', { name: 'production' }));
      expect(await clusterSelect()).toHaveTextContent('production');
      await userEvent.click(screen.getByRole('button', { name: 'Next' }));
      await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
      await waitFor(() =>
        expect(createRestore).toHaveBeenCalledWith(
          shopRef,
          expect.objectContaining({ cluster: 'production', namespace: 'shop', dryRun: true }),
        ),
      );
      await userEvent.click(screen.getByRole('button', { name: 'Back' }));
      await userEvent.click(screen.getByRole('button', { name: 'Back' }));
      expect(await clusterSelect()).toHaveTextContent('production');
      expect(getRestoreOptions).toHaveBeenCalledTimes(1);
    });

    it('falls back to text fields with the error when the options cannot be loaded', async () => {
      const error = await responseError(500, 'Error', 'catalog unavailable');
      const createRestore = jest.fn().mockResolvedValue(preview);
      await render({ createRestore, getRestoreOptions: jest.fn().mockRejectedValue(error) });
      expect(
        await screen.findByText(/could not load where you may restore \(catalog unavailable\)/i),
      ).toHaveTextContent('The backup was taken from sandbox / shop');
      expect(screen.queryByText(/You may restore/)).not.toBeInTheDocument();
      const field = screen.getByLabelText(/target cluster/i);
      expect(field).toHaveValue('sandbox');
      expect(field).toHaveAttribute('id', 'restore-cluster');
      await type(/target cluster/i, 'staging');
      await userEvent.click(screen.getByRole('button', { name: 'Next' }));
      // Unknown privileges: no note rather than a wrong one; the backend decides at the preview.
      expect(screen.queryByRole('alert', { name: 'fields you may patch' })).not.toBeInTheDocument();
      await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
      await waitFor(() =>
        expect(createRestore).toHaveBeenCalledWith(
          shopRef,
          expect.objectContaining({ cluster: 'staging', dryRun: true }),
        ),
      );
    });
  });
});
