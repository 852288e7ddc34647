import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { BackupApi } from '../../api/BackupApi';
import {
  GiB,
  responseError,
  restoreDetail,
  restoreSummary,
  shopRef,
} from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { EntityRestoresContent } from './EntityRestoresContent';

const list = (...items: ReturnType<typeof restoreSummary>[]) =>
  jest.fn().mockResolvedValue({ entityRef: 'component:default/shop', items, totalCount: items.length });

function render(api: Partial<BackupApi>, routeEntries?: string[]) {
  return renderWithApis(<EntityRestoresContent />, { api, routeEntries });
}

const partial = restoreDetail({
  phase: 'PartiallyFailed',
  objects: [
    { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'shop-restored', outcome: 'Created' },
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', namespace: 'shop-restored', outcome: 'Patched' },
    { apiVersion: 'v1', kind: 'Secret', name: 'tls', namespace: 'shop-restored', outcome: 'Skipped', reason: 'already exists' },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      name: 'web',
      namespace: 'shop-restored',
      outcome: 'Failed',
      reason: 'admission webhook denied: host shop.example.com is taken',
    },
  ],
  failures: [{ kind: 'Resource', name: 'Ingress web', reason: 'admission webhook denied: host shop.example.com is taken' }],
});

describe('EntityRestoresContent', () => {
  it('shows the empty state from the backend', async () => {
    await render({ listRestores: list() });
    expect(await screen.findByText('No restores yet for shop')).toBeInTheDocument();
  });

  it('shows a progress bar while loading', async () => {
    await render({ listRestores: jest.fn(() => new Promise<never>(() => {})) });
    expect(await screen.findByTestId('progress')).toBeInTheDocument();
  });

  it('shows the API error message', async () => {
    const error = await responseError(403, 'NotAllowedError', 'not allowed to backup.read on component:default/shop');
    await render({ listRestores: jest.fn().mockRejectedValue(error) });
    expect((await screen.findAllByText(/not allowed to backup.read/)).length).toBeGreaterThan(0);
  });

  it('lists restores and follows a running one live', async () => {
    const running = restoreSummary({ id: 'r2', phase: 'Running', completedAt: undefined, trigger: { type: 'kubernetes' } });
    const getRestore = jest.fn().mockResolvedValue(
      restoreDetail({
        ...running,
        step: 'Volumes',
        volumes: [{ pvc: 'data-db-0', phase: 'Transferring', bytesTotal: 2 * GiB, bytesDone: 0.5 * GiB }],
        objects: [],
      }),
    );
    await render({
      listRestores: list(running, restoreSummary({ id: 'r1' })),
      getRestore,
      streamRestore: jest.fn(() => new Promise<void>(() => {})),
    });
    expect(await screen.findByText('Restore into sandbox / shop-restored in progress')).toBeInTheDocument();
    expect(await screen.findByText('512 MiB of 2.0 GiB (25%)')).toBeInTheDocument();
    expect(screen.getByText('kubectl / GitOps')).toBeInTheDocument();
    expect(screen.getByText('Completed')).toBeInTheDocument();
    expect(getRestore).toHaveBeenCalledWith(shopRef, 'r2');
  });

  it('keeps polling when the event stream ends before the restore does, then reloads', async () => {
    const running = restoreSummary({ id: 'r3', phase: 'Running', completedAt: undefined });
    const runningDetail = restoreDetail({ ...running, objects: [] });
    const getRestore = jest
      .fn()
      .mockResolvedValueOnce(runningDetail)
      .mockResolvedValueOnce(runningDetail)
      .mockResolvedValue(restoreDetail({ id: 'r3', phase: 'Completed' }));
    const listRestores = list(running);
    await render({ listRestores, getRestore, streamRestore: jest.fn().mockResolvedValue(undefined) });
    expect(await screen.findByText('(Refreshing every 2 s)')).toBeInTheDocument();
    await waitFor(() => expect(listRestores).toHaveBeenCalledTimes(2), { timeout: 8000 });
    expect(getRestore).toHaveBeenCalledTimes(3);
  });

  it('opens a restore to show the outcome per object and why a part failed', async () => {
    const getRestore = jest.fn().mockResolvedValue(partial);
    await render({ listRestores: list(restoreSummary({ phase: 'PartiallyFailed' })), getRestore });
    await userEvent.click(await screen.findByText('sandbox / shop-restored'));
    const objects = await screen.findByRole('table', { name: 'restored objects' });
    const rows = within(objects).getAllByRole('row').slice(1).map(row => row.textContent);
    expect(rows).toEqual([
      'CreatedStatefulSetshop-restored/db',
      'PatchedConfigMapshop-restored/settings',
      'SkippedSecretshop-restored/tlsalready exists',
      'FailedIngressshop-restored/webadmission webhook denied: host shop.example.com is taken',
    ]);
    const alert = screen.getByRole('alert');
    expect(within(alert).getByText('1 item failed')).toBeInTheDocument();
    expect(within(alert).getByText('Resource Ingress web')).toBeInTheDocument();
    expect(getRestore).toHaveBeenCalledWith(shopRef, 'r1');
  });

  it('opens the restore named in the address (from the wizard)', async () => {
    const getRestore = jest.fn().mockResolvedValue(restoreDetail({ id: 'r7' }));
    await render({ listRestores: list(restoreSummary({ id: 'r7' })), getRestore }, ['/?restore=r7']);
    expect(await screen.findByText('Restore r7')).toBeInTheDocument();
    await waitFor(() => expect(getRestore).toHaveBeenCalledWith(shopRef, 'r7'));
  });
});
