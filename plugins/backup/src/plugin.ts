import {
  createApiFactory,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { backupApiRef } from './api/BackupApi';
import { BackupClient } from './api/BackupClient';
import { backupsRouteRef, restoresRouteRef } from './routes';

/** Ferry's frontend plugin (legacy frontend system). */
export const backupPlugin = createPlugin({
  id: 'backup',
  apis: [
    createApiFactory({
      api: backupApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) => new BackupClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: { backups: backupsRouteRef, restores: restoresRouteRef },
});

/** The "Backups" entity tab. */
export const EntityBackupsContent = backupPlugin.provide(
  createRoutableExtension({
    name: 'EntityBackupsContent',
    component: () =>
      import('./components/EntityBackupsContent').then(m => m.EntityBackupsContent),
    mountPoint: backupsRouteRef,
  }),
);

/** The "Restores" entity tab. */
export const EntityRestoresContent = backupPlugin.provide(
  createRoutableExtension({
    name: 'EntityRestoresContent',
    component: () =>
      import('./components/EntityRestoresContent').then(m => m.EntityRestoresContent),
    mountPoint: restoresRouteRef,
  }),
);
