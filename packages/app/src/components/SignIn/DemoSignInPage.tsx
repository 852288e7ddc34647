import { useState } from 'react';
import { Box, Button, Grid, Typography } from '@material-ui/core';
import {
  Content,
  Header,
  InfoCard,
  Page,
  ProxiedSignInPage,
  WarningPanel,
} from '@backstage/core-components';
import {
  configApiRef,
  IdentityApi,
  SignInPageProps,
  useApi,
} from '@backstage/core-plugin-api';

/** One sign-in option of the demo: a catalog user listed in `auth.providers.demo.users`. */
export interface DemoUser {
  userEntityRef: string;
  /** The role, as the card's title. */
  title: string;
  /** What this user may do in Ferry. */
  description: string;
}

/** The header the backend's demo provider reads (packages/backend/src/auth/demoSignInModule.ts). */
export const DEMO_USER_HEADER = 'x-ferry-demo-user';
/** The chosen user, remembered so that a reload signs in again (as SignInPage remembers its provider). */
export const DEMO_USER_STORAGE_KEY = 'ferry:demo-sign-in:user';

/** Forgets the chosen user when the app signs out, so the sign-in page offers the choice again. */
function forgetOnSignOut(identity: IdentityApi, forget: () => void): IdentityApi {
  return {
    getProfileInfo: () => identity.getProfileInfo(),
    getBackstageIdentity: () => identity.getBackstageIdentity(),
    getCredentials: () => identity.getCredentials(),
    signOut: async () => {
      forget();
      await identity.signOut();
    },
  };
}

/** The backend's own words for a failed sign-in (a ResponseError carries them as its cause). */
function reason(error?: Error): string {
  const cause = (error as { cause?: { message?: string } } | undefined)?.cause;
  return cause?.message ?? error?.message ?? 'unknown error';
}

/**
 * The demo's sign-in page: one card per demo user (no identity provider), each signing in through
 * the backend's `demo` proxy provider with Backstage's ProxiedSignInPage. Development only.
 */
export const DemoSignInPage = (props: SignInPageProps & { users: DemoUser[] }) => {
  const configApi = useApi(configApiRef);
  const [chosen, setChosen] = useState<string | undefined>(() => {
    const stored = window.localStorage.getItem(DEMO_USER_STORAGE_KEY) ?? undefined;
    return props.users.some(user => user.userEntityRef === stored) ? stored : undefined;
  });
  const choose = (userEntityRef?: string) => {
    if (userEntityRef) window.localStorage.setItem(DEMO_USER_STORAGE_KEY, userEntityRef);
    else window.localStorage.removeItem(DEMO_USER_STORAGE_KEY);
    setChosen(userEntityRef);
  };

  if (chosen) {
    return (
      <ProxiedSignInPage
        provider="demo"
        headers={{ [DEMO_USER_HEADER]: chosen }}
        onSignInSuccess={identity =>
          props.onSignInSuccess(
            forgetOnSignOut(identity, () => window.localStorage.removeItem(DEMO_USER_STORAGE_KEY)),
          )
        }
        ErrorComponent={({ error }) => (
          <Page themeId="home">
            <Header title={configApi.getString('app.title')} />
            <Content>
              <WarningPanel
                severity="error"
                title={`Could not sign in as ${chosen}`}
                message={reason(error)}
                defaultExpanded
              />
              <Box mt={2}>
                <Button variant="outlined" color="primary" onClick={() => choose(undefined)}>
                  Back to the sign-in options
                </Button>
              </Box>
            </Content>
          </Page>
        )}
      />
    );
  }

  return (
    <Page themeId="home">
      <Header title={configApi.getString('app.title')} subtitle="Demo sign-in: choose who you are" />
      <Content>
        <Grid container spacing={2}>
          {props.users.map(user => (
            <Grid item xs={12} md={6} lg={4} key={user.userEntityRef}>
              <InfoCard
                variant="fullHeight"
                title={user.title}
                subheader={user.userEntityRef}
                actions={
                  <Button
                    color="primary"
                    variant="outlined"
                    aria-label={`Sign in as ${user.title}`}
                    onClick={() => choose(user.userEntityRef)}
                  >
                    Sign in
                  </Button>
                }
              >
                <Typography variant="body1">{user.description}</Typography>
              </InfoCard>
            </Grid>
          ))}
        </Grid>
        <Box mt={3}>
          <Typography variant="body2" color="textSecondary">
            No identity provider: the backend signs you in as the catalog user you choose
            (auth.providers.demo in app-config.yaml). For development only; an adopter's
            Backstage uses a real sign-in provider.
          </Typography>
        </Box>
      </Content>
    </Page>
  );
};
