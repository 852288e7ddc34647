import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import type { Entity } from '@backstage/catalog-model';
import { isBackupAvailable } from '@ferry/plugin-backup-common';
import { backupApiRef } from './api/BackupApi';
import { BackupClient } from './api/BackupClient';

/** Entities carrying any annotation that tells Ferry what to back up. */
const applicationFilter = (entity: Entity) => isBackupAvailable(entity);

const backupApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: backupApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) => new BackupClient({ discoveryApi, fetchApi }),
    }),
});

const entityBackupsContent = EntityContentBlueprint.make({
  name: 'backups',
  params: {
    path: '/backups',
    title: 'Backups',
    group: 'operation',
    filter: applicationFilter,
    loader: () =>
      import('./components/EntityBackupsContent').then(m => <m.EntityBackupsContent />),
  },
});

const entityRestoresContent = EntityContentBlueprint.make({
  name: 'restores',
  params: {
    path: '/restores',
    title: 'Restores',
    group: 'operation',
    filter: applicationFilter,
    loader: () =>
      import('./components/EntityRestoresContent').then(m => <m.EntityRestoresContent />),
  },
});

/**
 * Ferry for Backstage's new frontend system.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'backup',
  extensions: [backupApi, entityBackupsContent, entityRestoresContent],
});
