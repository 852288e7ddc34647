import { screen, within } from '@testing-library/react';
import type { BackupApi } from '../../api/BackupApi';
import { restoreDetail, shopRef } from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { RestoreDetailDrawer } from './RestoreDetailDrawer';

function render(api: Partial<BackupApi>) {
  return renderWithApis(
    <RestoreDetailDrawer entityRef={shopRef} restoreId="r1" onClose={jest.fn()} />,
    { api },
  );
}

const pushed = `registry.local:5000/ferry/shop/web:1.4-ferry-1@sha256:${'9c1f0a7e3d2b4c5a'.repeat(4)}`;

describe('RestoreDetailDrawer', () => {
  it('shows what the restore did about each image: kept, pushed (new tag noted), unavailable', async () => {
    const getRestore = jest.fn().mockResolvedValue(
      restoreDetail({
        phase: 'PartiallyFailed',
        images: [
          { image: 'docker.io/library/postgres:16', reachable: true, stored: true, action: 'original' },
          {
            image: 'registry.internal/shop/web:1.4',
            reachable: false,
            stored: true,
            action: 'push',
            reason: 'lookup registry.internal: no such host',
            restored: pushed,
            tagChanged: true,
          },
          {
            image: 'registry.internal/shop/api:3.1',
            reachable: false,
            stored: true,
            action: 'push',
            restored: 'registry.local:5000/ferry/shop/api:3.1@sha256:77aa',
            tagChanged: false,
          },
          {
            image: 'registry.internal/shop/worker:2.0',
            reachable: false,
            stored: false,
            action: 'unavailable',
            reason: 'lookup registry.internal: no such host; the backup holds no copy of it',
          },
        ],
        failures: [
          { kind: 'Image', name: 'registry.internal/shop/worker:2.0', reason: 'the backup holds no copy of it' },
        ],
      }),
    );
    await render({ getRestore, streamRestore: jest.fn() });
    const section = await screen.findByRole('region', { name: 'Images' });
    expect(within(section).getByText('Images (4)')).toBeInTheDocument();
    const rows = within(section).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toHaveTextContent('Original kept');
    expect(rows[0]).toHaveTextContent('docker.io/library/postgres:16');

    expect(within(rows[1]).getByText('Pushed')).toBeInTheDocument();
    // The pushed reference with its digest shortened, the full one in a tooltip.
    const reference = within(rows[1]).getByText('registry.local:5000/ferry/shop/web:1.4-ferry-1@sha256:9c1f0a7e3d2b');
    expect(reference).toHaveAttribute('title', pushed);
    expect(rows[1]).toHaveTextContent('Original unreachable: lookup registry.internal: no such host');
    expect(rows[1]).toHaveTextContent(/Pushed under a new tag: the original tag already named another image/);

    expect(within(rows[2]).getByText('Pushed')).toBeInTheDocument();
    expect(rows[2]).toHaveTextContent('Workloads run registry.local:5000/ferry/shop/api:3.1@sha256:77aa');
    expect(rows[2]).not.toHaveTextContent(/new tag/);

    expect(within(rows[3]).getByText('Unavailable')).toBeInTheDocument();
    expect(rows[3]).toHaveTextContent('the backup holds no copy of it');
    expect(getRestore).toHaveBeenCalledWith(shopRef, 'r1');
  });

  it('says when no image has been checked yet', async () => {
    await render({
      getRestore: jest.fn().mockResolvedValue(restoreDetail({ phase: 'Running', completedAt: undefined })),
      streamRestore: jest.fn(),
    });
    const section = await screen.findByRole('region', { name: 'Images' });
    expect(within(section).getByText('No images checked yet.')).toBeInTheDocument();
  });

  it('says when a finished restore ran no images', async () => {
    await render({ getRestore: jest.fn().mockResolvedValue(restoreDetail({ images: [] })) });
    const section = await screen.findByRole('region', { name: 'Images' });
    expect(within(section).getByText('The restored workloads run no container images.')).toBeInTheDocument();
  });
});
