import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import { FerryPermissionPolicy } from './ferryPermissionPolicy';

/** Installs FerryPermissionPolicy; administrators come from `ferry.permissions.adminRefs`. */
export const ferryPermissionPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'ferry-policy',
  register(reg) {
    reg.registerInit({
      deps: {
        policy: policyExtensionPoint,
        config: coreServices.rootConfig,
        userInfo: coreServices.userInfo,
      },
      async init({ policy, config, userInfo }) {
        const adminRefs =
          config.getOptionalStringArray('ferry.permissions.adminRefs') ?? [];
        policy.setPolicy(new FerryPermissionPolicy({ adminRefs, userInfo }));
      },
    });
  },
});
