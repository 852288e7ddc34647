import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockApis, renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { configApiRef, discoveryApiRef, IdentityApi } from '@backstage/core-plugin-api';
import type { ReactElement } from 'react';
import { DEMO_USER_STORAGE_KEY, DemoSignInPage, DemoUser } from './DemoSignInPage';

const users: DemoUser[] = [
  { userEntityRef: 'user:default/shop-owner', title: 'Service owner', description: 'Owns Shop.' },
  { userEntityRef: 'user:default/platform-admin', title: 'Platform administrator', description: 'Runs Ferry.' },
];

/** A JWT with an expiry an hour ahead (ProxiedSignInIdentity reads `exp`). */
function token(sub: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}.x`;
}

/** The backend's demo provider, as fetch sees it: a session for the user the header names. */
function demoBackend(options: { fail?: { status: number; name: string; message: string } } = {}) {
  return jest.fn(async (_url: string, init: { headers: Headers }) => {
    const ref = init.headers.get('x-ferry-demo-user')!;
    const body = options.fail
      ? { error: { name: options.fail.name, message: options.fail.message }, response: { statusCode: options.fail.status } }
      : {
          profile: { displayName: ref },
          backstageIdentity: {
            token: token(ref),
            identity: { type: 'user', userEntityRef: ref, ownershipEntityRefs: [ref] },
          },
        };
    const text = JSON.stringify(body);
    return {
      ok: !options.fail,
      status: options.fail?.status ?? 200,
      statusText: options.fail ? 'Error' : 'OK',
      headers: { get: (name: string) => (name.toLowerCase() === 'content-type' ? 'application/json' : null) },
      json: async () => body,
      text: async () => text,
    };
  });
}

/** In a test app with the app's title and the backend at localhost:7007. */
function render(ui: ReactElement) {
  return renderInTestApp(
    <TestApiProvider
      apis={[
        [configApiRef, mockApis.config({ data: { app: { title: 'Ferry' } } })],
        [discoveryApiRef, mockApis.discovery({ baseUrl: 'http://localhost:7007' })],
      ]}
    >
      {ui}
    </TestApiProvider>,
  );
}

describe('DemoSignInPage', () => {
  const originalFetch = global.fetch;
  afterEach(() => {
    global.fetch = originalFetch;
    window.localStorage.clear();
  });

  it('offers each demo user and signs in as the one chosen, through the demo provider', async () => {
    const fetch = demoBackend();
    global.fetch = fetch as unknown as typeof global.fetch;
    const onSignInSuccess = jest.fn();
    await render(<DemoSignInPage users={users} onSignInSuccess={onSignInSuccess} />);
    expect(screen.getByText('Service owner')).toBeInTheDocument();
    expect(screen.getByText('user:default/platform-admin')).toBeInTheDocument();
    expect(screen.getByText('Runs Ferry.')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Sign in as Platform administrator' }));
    await waitFor(() => expect(onSignInSuccess).toHaveBeenCalledTimes(1));
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('http://localhost:7007/api/auth/demo/refresh');
    expect(init.headers.get('x-ferry-demo-user')).toBe('user:default/platform-admin');
    const identity: IdentityApi = onSignInSuccess.mock.calls[0][0];
    expect(await identity.getBackstageIdentity()).toEqual({
      type: 'user',
      userEntityRef: 'user:default/platform-admin',
      ownershipEntityRefs: ['user:default/platform-admin'],
    });
    // Remembered for the next page load, forgotten on sign-out.
    expect(window.localStorage.getItem(DEMO_USER_STORAGE_KEY)).toBe('user:default/platform-admin');
    await identity.signOut();
    expect(window.localStorage.getItem(DEMO_USER_STORAGE_KEY)).toBeNull();
  });

  it('signs in again as the remembered user without asking', async () => {
    global.fetch = demoBackend() as unknown as typeof global.fetch;
    window.localStorage.setItem(DEMO_USER_STORAGE_KEY, 'user:default/shop-owner');
    const onSignInSuccess = jest.fn();
    await render(<DemoSignInPage users={users} onSignInSuccess={onSignInSuccess} />);
    await waitFor(() => expect(onSignInSuccess).toHaveBeenCalledTimes(1));
    expect((await onSignInSuccess.mock.calls[0][0].getBackstageIdentity()).userEntityRef).toBe(
      'user:default/shop-owner',
    );
    expect(screen.queryByText('Platform administrator')).not.toBeInTheDocument();
  });

  it('ignores a remembered user that is no longer offered', async () => {
    const fetch = demoBackend();
    global.fetch = fetch as unknown as typeof global.fetch;
    window.localStorage.setItem(DEMO_USER_STORAGE_KEY, 'user:default/someone-else');
    await render(<DemoSignInPage users={users} onSignInSuccess={jest.fn()} />);
    expect(screen.getByText('Service owner')).toBeInTheDocument();
    expect(fetch).not.toHaveBeenCalled();
  });

  it("shows the backend's refusal and goes back to the options", async () => {
    global.fetch = demoBackend({
      fail: { status: 404, name: 'NotFoundError', message: 'user:default/shop-owner is not in the catalog (yet)' },
    }) as unknown as typeof global.fetch;
    const onSignInSuccess = jest.fn();
    await render(<DemoSignInPage users={users} onSignInSuccess={onSignInSuccess} />);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in as Service owner' }));
    expect(await screen.findByText(/is not in the catalog \(yet\)/)).toBeInTheDocument();
    expect(screen.getByText(/Could not sign in as user:default\/shop-owner/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Back to the sign-in options' }));
    expect(screen.getByText('Platform administrator')).toBeInTheDocument();
    expect(window.localStorage.getItem(DEMO_USER_STORAGE_KEY)).toBeNull();
    expect(onSignInSuccess).not.toHaveBeenCalled();
  });
});
