import { createBackendModule } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import type { Config } from '@backstage/config';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  authProvidersExtensionPoint,
  createProxyAuthenticator,
  createProxyAuthProviderFactory,
  SignInResolver,
} from '@backstage/plugin-auth-node';

/** The request header that names the demo user to sign in as (sent by the app's sign-in page). */
export const DEMO_USER_HEADER = 'x-ferry-demo-user';

/** What the authenticator found: the catalog user the request asked for. */
interface DemoUserResult {
  userEntityRef: string;
}

interface DemoUserContext {
  users: string[];
  disabled: boolean;
}

/** The configured users as full entity refs (`sam` → `user:default/sam`). */
export function readDemoUsers(config: Config): string[] {
  return config
    .getStringArray('users')
    .map(ref => stringifyEntityRef(parseEntityRef(ref, { defaultKind: 'user', defaultNamespace: 'default' })));
}

/**
 * Like Backstage's guest provider, a proxy provider without an identity provider behind it: the
 * request names one of `auth.providers.demo.users` in the `x-ferry-demo-user` header. Development
 * only (as the guest provider), unless `dangerouslyAllowOutsideDevelopment`.
 */
export const demoUserAuthenticator = createProxyAuthenticator<DemoUserContext, DemoUserResult, undefined>({
  defaultProfileTransform: async () => ({ profile: {} }),
  initialize({ config }) {
    return {
      users: readDemoUsers(config),
      disabled:
        process.env.NODE_ENV !== 'development' &&
        config.getOptionalBoolean('dangerouslyAllowOutsideDevelopment') !== true,
    };
  },
  async authenticate({ req }, ctx) {
    if (ctx.disabled) {
      throw new NotAllowedError(
        "the demo sign-in is for development only: set auth.providers.demo.dangerouslyAllowOutsideDevelopment to use it elsewhere",
      );
    }
    const asked = req.header(DEMO_USER_HEADER);
    if (!asked) {
      throw new InputError(`header ${DEMO_USER_HEADER} is missing: it names the demo user to sign in as`);
    }
    const userEntityRef = stringifyEntityRef(
      parseEntityRef(asked, { defaultKind: 'user', defaultNamespace: 'default' }),
    );
    if (!ctx.users.includes(userEntityRef)) {
      throw new NotAllowedError(
        `${userEntityRef} is not a demo user: auth.providers.demo.users lists ${ctx.users.join(', ')}`,
      );
    }
    return { result: { userEntityRef } };
  },
});

/**
 * Signs in as the catalog user, so that its groups become ownership claims (what the permission
 * policy decides on). A user the catalog has not loaded yet is a clear error, not a guest token.
 */
export const signInAsDemoUser: SignInResolver<DemoUserResult> = async ({ result }, ctx) => {
  try {
    return await ctx.signInWithCatalogUser({ entityRef: result.userEntityRef });
  } catch (error) {
    if ((error as Error).name === 'NotFoundError') {
      throw new NotFoundError(
        `${result.userEntityRef} is not in the catalog (yet): the catalog loads examples/org.yaml a few seconds after start, try again`,
      );
    }
    throw error;
  }
};

/**
 * `auth.providers.demo`: the demo's sign-in options (a service owner and a platform
 * administrator), each a catalog user, with no external identity provider.
 */
export const demoSignInModule = createBackendModule({
  pluginId: 'auth',
  moduleId: 'ferry-demo-sign-in',
  register(reg) {
    reg.registerInit({
      deps: { providers: authProvidersExtensionPoint },
      async init({ providers }) {
        providers.registerProvider({
          providerId: 'demo',
          factory: createProxyAuthProviderFactory({
            authenticator: demoUserAuthenticator,
            signInResolver: signInAsDemoUser,
            profileTransform: async (result, ctx) => {
              const user = await ctx
                .findCatalogUser({ entityRef: result.userEntityRef })
                .catch(() => undefined);
              const profile = (user?.entity.spec as { profile?: { displayName?: string; email?: string } })?.profile;
              return {
                profile: {
                  displayName: profile?.displayName ?? result.userEntityRef,
                  ...(profile?.email ? { email: profile.email } : {}),
                },
              };
            },
          }),
        });
      },
    });
  },
});
