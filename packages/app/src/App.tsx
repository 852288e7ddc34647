import { Navigate, Route } from 'react-router-dom';
import {
  CatalogEntityPage,
  CatalogIndexPage,
  catalogPlugin,
} from '@backstage/plugin-catalog';
import { orgPlugin } from '@backstage/plugin-org';
import { UserSettingsPage } from '@backstage/plugin-user-settings';
import { BackupPlatformPage } from '@ferry/plugin-backup';
import { AlertDisplay, OAuthRequestDialog } from '@backstage/core-components';
import { createApp } from '@backstage/app-defaults';
import { AppRouter, FlatRoutes } from '@backstage/core-app-api';
import { apis } from './apis';
import { entityPage } from './components/catalog/EntityPage';
import { Root } from './components/Root';
import { DemoSignInPage, DemoUser } from './components/SignIn';

/**
 * Who one may sign in as in the demo: catalog users of examples/org.yaml, allowed by the
 * backend's `auth.providers.demo.users` (app-config.yaml). An adopter's app lists its real sign-in
 * providers here instead (e.g. `<SignInPage providers={[githubProvider]} />`).
 */
const demoUsers: DemoUser[] = [
  {
    userEntityRef: 'user:default/shop-owner',
    title: 'Service owner',
    description:
      'Member of team-shop, which owns Shop: backs up Shop and restores it into its own namespace and cluster (sandbox / demo), patching what a service owner may patch. Other teams\' components and the platform page are not theirs.',
  },
  {
    userEntityRef: 'user:default/platform-admin',
    title: 'Platform administrator',
    description:
      'Member of platform-team (ferry.permissions.adminRefs): the Backups platform page (targets, policies, coverage), every component, restores into any namespace or configured cluster, privileged changes.',
  },
];

const app = createApp({
  apis,
  bindRoutes({ bind }) {
    bind(orgPlugin.externalRoutes, {
      catalogIndex: catalogPlugin.routes.catalogIndex,
    });
  },
  components: {
    SignInPage: props => <DemoSignInPage {...props} users={demoUsers} />,
  },
});

const routes = (
  <FlatRoutes>
    <Route path="/" element={<Navigate to="catalog" />} />
    <Route path="/catalog" element={<CatalogIndexPage />} />
    <Route path="/catalog/:namespace/:kind/:name" element={<CatalogEntityPage />}>
      {entityPage}
    </Route>
    <Route path="/backup" element={<BackupPlatformPage />} />
    <Route path="/settings" element={<UserSettingsPage />} />
  </FlatRoutes>
);

export default app.createRoot(
  <>
    <AlertDisplay />
    <OAuthRequestDialog />
    <AppRouter>
      <Root>{routes}</Root>
    </AppRouter>
  </>,
);
