import type { BackupPlan } from '@ferry/plugin-backup-common';
import { screen, within } from '@testing-library/react';
import { GiB, responseError, shop, shopRef } from '../../__testUtils__/fixtures';
import { renderWithApis } from '../../__testUtils__/renderWithApis';
import { BackupPlanDialog } from './BackupPlanDialog';

const plan: BackupPlan = {
  entityRef: 'component:default/shop',
  cluster: 'sandbox',
  namespace: 'shop',
  application: { helmReleases: ['shop'], labelSelectors: [], wholeNamespace: false },
  target: 'local',
  policy: 'daily',
  resources: [
    { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'shop', source: 'helm' },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-db-0', namespace: 'shop', source: 'claim-template' },
  ],
  volumes: [
    { pvc: 'data-db-0', storageClass: 'ferry-sandbox', volumeMode: 'Filesystem', sizeBytes: 8 * GiB, volumeSnapshotClass: 'ferry-snapshots' },
  ],
  images: ['docker.io/library/postgres:16.4'],
  warnings: ['PVC cache-0: driver hostpath.csi.k8s.io has no VolumeSnapshotClass'],
};

describe('BackupPlanDialog', () => {
  it('shows what a backup would contain, with warnings', async () => {
    const getPlan = jest.fn().mockResolvedValue(plan);
    await renderWithApis(<BackupPlanDialog entity={shop} onClose={jest.fn()} />, { api: { getPlan } });
    expect(await screen.findByText(/Helm release shop in/)).toBeInTheDocument();
    expect(screen.getByText('PVC cache-0: driver hostpath.csi.k8s.io has no VolumeSnapshotClass')).toBeInTheDocument();
    const volumes = screen.getByRole('table', { name: 'planned volumes' });
    expect(within(volumes).getByText('8.0 GiB')).toBeInTheDocument();
    expect(within(volumes).getByText('ferry-snapshots')).toBeInTheDocument();
    expect(within(screen.getByRole('table', { name: 'planned resources' })).getByText('volume claim template')).toBeInTheDocument();
    expect(screen.getByText('docker.io/library/postgres:16.4')).toBeInTheDocument();
    expect(getPlan).toHaveBeenCalledWith(shopRef);
  });

  it('shows why the plan cannot be resolved', async () => {
    const error = await responseError(400, 'InputError', 'entity component:default/shop names no cluster Ferry knows');
    await renderWithApis(<BackupPlanDialog entity={shop} onClose={jest.fn()} />, {
      api: { getPlan: jest.fn().mockRejectedValue(error) },
    });
    expect((await screen.findAllByText(/names no cluster Ferry knows/)).length).toBeGreaterThan(0);
  });
});
