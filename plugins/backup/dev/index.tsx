import { createApp } from '@backstage/app-defaults';
import { AppRouter, FlatRoutes } from '@backstage/core-app-api';
import {
  Header,
  Page,
  Sidebar,
  SidebarItem,
  SidebarPage,
  TabbedLayout,
} from '@backstage/core-components';
import {
  createApiFactory,
  createPlugin,
  createRoutableExtension,
} from '@backstage/core-plugin-api';
import { EntityProvider, entityRouteRef } from '@backstage/plugin-catalog-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { Grid } from '@material-ui/core';
import BackupIcon from '@material-ui/icons/Backup';
import CategoryIcon from '@material-ui/icons/Category';
import ReactDOM from 'react-dom/client';
import { Navigate, Route } from 'react-router-dom';
import { backupApiRef } from '../src';
import { BackupPlatformPage } from '../src/components/BackupPlatformPage';
import { EntityBackupsContent } from '../src/components/EntityBackupsContent';
import { EntityBackupStatusCard } from '../src/components/EntityBackupStatusCard';
import { EntityRestoresContent } from '../src/components/EntityRestoresContent';
import { DemoBackupApi } from './DemoBackupApi';

const shop = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'shop', namespace: 'default', title: 'Shop', annotations: { 'ferry.io/helm-release': 'shop' } },
  spec: { type: 'service', owner: 'guest', lifecycle: 'production' },
};

/** A stand-in for the catalog's entity page: the plugin's views inside an entity context. */
const EntityPage = () => (
  <EntityProvider entity={shop}>
    <Page themeId="service">
      <Header title="Shop" type="component — service" />
      <TabbedLayout>
        <TabbedLayout.Route path="/" title="Overview">
          <Grid container spacing={3}>
            <Grid item md={6} xs={12}>
              <EntityBackupStatusCard />
            </Grid>
          </Grid>
        </TabbedLayout.Route>
        <TabbedLayout.Route path="/backups" title="Backups">
          <EntityBackupsContent />
        </TabbedLayout.Route>
        <TabbedLayout.Route path="/restores" title="Restores">
          <EntityRestoresContent />
        </TabbedLayout.Route>
      </TabbedLayout>
    </Page>
  </EntityProvider>
);

const devPlugin = createPlugin({ id: 'backup-dev' });
const DevEntityPage = devPlugin.provide(
  createRoutableExtension({
    name: 'DevEntityPage',
    component: async () => EntityPage,
    mountPoint: entityRouteRef,
  }),
);

const app = createApp({
  apis: [
    createApiFactory({ api: backupApiRef, deps: {}, factory: () => new DemoBackupApi() }),
    createApiFactory({
      api: permissionApiRef,
      deps: {},
      factory: () => ({ authorize: async () => ({ result: AuthorizeResult.ALLOW }) }),
    }),
  ],
});

const App = app.createRoot(
  <AppRouter>
    <SidebarPage>
      <Sidebar>
        <SidebarItem icon={CategoryIcon} to="/catalog/default/component/shop" text="Shop" />
        <SidebarItem icon={BackupIcon} to="/backup" text="Backups" />
      </Sidebar>
      <FlatRoutes>
        <Route path="/" element={<Navigate to="/catalog/default/component/shop" />} />
        <Route path="/catalog/:namespace/:kind/:name/*" element={<DevEntityPage />} />
        <Route path="/backup" element={<BackupPlatformPage />} />
      </FlatRoutes>
    </SidebarPage>
  </AppRouter>,
);

ReactDOM.createRoot(document.getElementById('root')!).render(<App />);
