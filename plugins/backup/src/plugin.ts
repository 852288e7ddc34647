import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { backupApiRef } from './api/BackupApi';
import { BackupClient } from './api/BackupClient';
import { backupsRouteRef, platformRouteRef, restoresRouteRef } from './routes';

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
  routes: { backups: backupsRouteRef, restores: restoresRouteRef, platform: platformRouteRef },
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

/** The overview card: protection state, last successful backup, next scheduled run. */
export const EntityBackupStatusCard = backupPlugin.provide(
  createComponentExtension({
    name: 'EntityBackupStatusCard',
    component: {
      lazy: () =>
        import('./components/EntityBackupStatusCard').then(m => m.EntityBackupStatusCard),
    },
  }),
);

/** The platform team's page: targets, policies, coverage, stored bytes over time. */
export const BackupPlatformPage = backupPlugin.provide(
  createRoutableExtension({
    name: 'BackupPlatformPage',
    component: () =>
      import('./components/BackupPlatformPage').then(m => m.BackupPlatformPage),
    mountPoint: platformRouteRef,
  }),
);
