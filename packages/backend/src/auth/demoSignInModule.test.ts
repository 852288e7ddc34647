import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import authPlugin from '@backstage/plugin-auth-backend';
import type { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import type { AddressInfo } from 'node:net';
import { DEMO_USER_HEADER, demoSignInModule } from './demoSignInModule';

function user(name: string, displayName: string, memberOf: string[]): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name, namespace: 'default' },
    spec: { profile: { displayName }, memberOf },
    relations: memberOf.map(group => ({ type: 'memberOf', targetRef: `group:default/${group}` })),
  };
}

const users = [
  user('shop-owner', 'Shop owner (team-shop)', ['team-shop']),
  user('platform-admin', 'Platform admin (platform-team)', ['platform-team']),
  user('someone-else', 'Not a demo user', ['team-shop']),
];

async function start(demo: { users: string[]; dangerouslyAllowOutsideDevelopment?: boolean }, entities: Entity[] = users) {
  const { server } = await startTestBackend({
    features: [
      authPlugin,
      demoSignInModule,
      catalogServiceMock.factory({ entities }),
      mockServices.rootConfig.factory({
        data: {
          app: { baseUrl: 'http://localhost:3000' },
          auth: { providers: { demo } },
        },
      }),
    ],
  });
  return server;
}

/** `GET /api/auth/demo/refresh` as the app's sign-in page sends it (global fetch: no extra dependency). */
async function refresh(server: Awaited<ReturnType<typeof start>>, demoUser?: string) {
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://localhost:${port}/api/auth/demo/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest', ...(demoUser ? { [DEMO_USER_HEADER]: demoUser } : {}) },
  });
  return { status: response.status, body: await response.json() };
}

/** The claims of a JWT (its middle part), unverified. */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

const demoConfig = {
  users: ['user:default/shop-owner', 'platform-admin'],
  dangerouslyAllowOutsideDevelopment: true,
};

describe('the demo sign-in provider (auth.providers.demo)', () => {
  it.each([
    ['user:default/shop-owner', 'Shop owner (team-shop)', 'group:default/team-shop'],
    ['user:default/platform-admin', 'Platform admin (platform-team)', 'group:default/platform-team'],
  ])('signs in as %s with the groups of the catalog user', async (ref, displayName, group) => {
    const server = await start(demoConfig);
    const response = await refresh(server, ref);
    expect(response.status).toBe(200);
    expect(response.body.profile).toEqual({ displayName });
    expect(response.body.backstageIdentity.identity).toEqual({
      type: 'user',
      userEntityRef: ref,
      ownershipEntityRefs: [ref, group],
    });
    const claims = claimsOf(response.body.backstageIdentity.token);
    expect(claims.sub).toBe(ref);
  });

  it('refuses a user that is not listed, even one in the catalog', async () => {
    const server = await start(demoConfig);
    const response = await refresh(server, 'user:default/someone-else');
    expect(response.status).toBe(403);
    expect(response.body.error.message).toBe(
      'user:default/someone-else is not a demo user: auth.providers.demo.users lists user:default/shop-owner, user:default/platform-admin',
    );
  });

  it('asks for the header that names the user', async () => {
    const server = await start(demoConfig);
    const response = await refresh(server);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/^header x-ferry-demo-user is missing/);
  });

  it('says so when the catalog has not loaded the user yet', async () => {
    const server = await start(demoConfig, []);
    const response = await refresh(server, 'user:default/shop-owner');
    expect(response.status).toBe(404);
    expect(response.body.error.message).toMatch(/^user:default\/shop-owner is not in the catalog \(yet\)/);
  });

  it('is refused outside development unless allowed, as the guest provider is', async () => {
    const server = await start({ users: ['user:default/shop-owner'] });
    const response = await refresh(server, 'user:default/shop-owner');
    expect(response.status).toBe(403);
    expect(response.body.error.message).toMatch(/^the demo sign-in is for development only/);
  });
});
