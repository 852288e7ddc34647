import type { DryRunResult } from '@ferry/plugin-backup-common';
import { renderInTestApp } from '@backstage/test-utils';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DryRunPreview } from './DryRunPreview';

const result: DryRunResult = {
  dryRun: true,
  backupId: 'b1',
  cluster: 'sandbox',
  namespace: 'shop',
  objects: [],
  volumes: [],
  unreachableImages: ['registry.internal/shop/web:1.4'],
  images: [
    {
      image: 'registry.internal/shop/web:1.4',
      reachable: false,
      stored: true,
      action: 'unavailable',
      reason: 'unauthorized; image restore is not configured (imageRestore)',
    },
  ],
  warnings: [],
};

describe('DryRunPreview', () => {
  it('offers image restore for an unavailable image the backup holds', async () => {
    const onConfigureImageRestore = jest.fn();
    await renderInTestApp(<DryRunPreview result={result} onConfigureImageRestore={onConfigureImageRestore} />);
    const alert = screen.getByRole('alert');
    expect(within(alert).getByText('1 image is unavailable')).toBeInTheDocument();
    expect(alert).toHaveTextContent('pods that run it will not start');
    expect(alert).toHaveTextContent('The backup holds a copy of it: configure image restore');
    expect(alert).not.toHaveTextContent(/no copy/);
    await userEvent.click(within(alert).getByRole('button', { name: 'Configure image restore' }));
    expect(onConfigureImageRestore).toHaveBeenCalled();
    expect(screen.getByText('unauthorized; image restore is not configured (imageRestore)')).toBeInTheDocument();
    expect(screen.getByText('1 images')).toBeInTheDocument();
  });

  it('says to make the original pullable when the backup holds no copy, even with image restore', async () => {
    const lost: DryRunResult = {
      ...result,
      images: [
        { image: 'docker.io/library/postgres:16', reachable: true, stored: true, action: 'original' },
        {
          image: 'registry.internal/shop/web:1.4',
          reachable: false,
          stored: false,
          action: 'unavailable',
          reason: 'not found; the backup holds no copy of it',
        },
      ],
    };
    await renderInTestApp(
      <DryRunPreview result={lost} imageRestore={{ registry: 'registry.local' }} onConfigureImageRestore={jest.fn()} />,
    );
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('The backup holds no copy of it (image backup was skipped or failed)');
    expect(within(alert).queryByRole('button')).not.toBeInTheDocument();
    const rows = within(screen.getByRole('table', { name: 'images' })).getAllByRole('row');
    expect(rows[1]).toHaveTextContent('Use original');
    expect(rows[2]).toHaveTextContent('UnavailableNot stored');
  });

  it('shows no images alert when every image runs or is pushed', async () => {
    await renderInTestApp(
      <DryRunPreview
        result={{ ...result, images: [{ ...result.images[0], action: 'push', reason: 'unauthorized' }] }}
        imageRestore={{ registry: 'registry.local:5000' }}
      />,
    );
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(screen.getByText('Push to registry.local:5000')).toBeInTheDocument();
  });

  it('says when the restored workloads run no images', async () => {
    await renderInTestApp(<DryRunPreview result={{ ...result, unreachableImages: [], images: [] }} />);
    expect(screen.getByText('The restored workloads run no container images.')).toBeInTheDocument();
  });
});
