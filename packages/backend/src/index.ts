import { createBackend } from '@backstage/backend-defaults';
import { ferryPermissionPolicyModule } from './permissions/policyModule';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

backend.add(import('@backstage/plugin-permission-backend'));
backend.add(ferryPermissionPolicyModule);

backend.add(import('@backstage/plugin-kubernetes-backend'));

backend.add(import('@ferry/plugin-backup-backend'));

backend.start();
