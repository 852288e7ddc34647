import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import { convertLegacyRouteRefs } from '@backstage/core-compat-api';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import type { Entity } from '@backstage/catalog-model';
import BackupIcon from '@material-ui/icons/Backup';
import { isBackupAvailable } from '@ferry/plugin-backup-common';
import { backupApiRef } from './api/BackupApi';
import { BackupClient } from './api/BackupClient';
import { backupsRouteRef, platformRouteRef, restoresRouteRef } from './routes';

/** Entities carrying any annotation that tells Ferry what to back up. */
const applicationFilter = (entity: Entity) => isBackupAvailable(entity);

const routes = convertLegacyRouteRefs({
  backups: backupsRouteRef,
  restores: restoresRouteRef,
  platform: platformRouteRef,
});

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
    routeRef: routes.backups,
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
    routeRef: routes.restores,
    filter: applicationFilter,
    loader: () =>
      import('./components/EntityRestoresContent').then(m => <m.EntityRestoresContent />),
  },
});

const entityBackupStatusCard = EntityCardBlueprint.make({
  name: 'status',
  params: {
    type: 'info',
    filter: applicationFilter,
    loader: () =>
      import('./components/EntityBackupStatusCard').then(m => <m.EntityBackupStatusCard />),
  },
});

const platformPage = PageBlueprint.make({
  params: {
    path: '/backup',
    title: 'Backups',
    icon: <BackupIcon />,
    routeRef: routes.platform,
    loader: () =>
      import('./components/BackupPlatformPage').then(m => <m.BackupPlatformPage />),
  },
});

/**
 * Ferry for Backstage's new frontend system.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'backup',
  routes,
  extensions: [
    backupApi,
    entityBackupsContent,
    entityRestoresContent,
    entityBackupStatusCard,
    platformPage,
  ],
});
