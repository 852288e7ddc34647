import { createBackend } from '@backstage/backend-defaults';
import { demoSignInModule } from './auth/demoSignInModule';
import { ferryPermissionPolicyModule } from './permissions/policyModule';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

backend.add(import('@backstage/plugin-auth-backend'));
// The demo's sign-in options (a service owner, a platform administrator): catalog users, no
// identity provider; development only, like the guest provider it replaces (auth.providers.demo).
backend.add(demoSignInModule);

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

backend.add(import('@backstage/plugin-permission-backend'));
backend.add(ferryPermissionPolicyModule);

backend.add(import('@backstage/plugin-kubernetes-backend'));

backend.add(import('@ferry/plugin-backup-backend'));

backend.start();
