import {
  Content,
  ContentHeader,
  EmptyState,
  Header,
  InfoCard,
  Page,
  Progress,
  SupportButton,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Grid, Typography } from '@material-ui/core';
import { backupAdminReadPermission } from '@ferry/plugin-backup-common';
import useAsync from 'react-use/esm/useAsync';
import { backupApiRef } from '../../api/BackupApi';
import { useActionPermission } from '../../hooks/useActionPermission';
import { ApiErrorPanel } from '../ApiErrorPanel';
import { CoverageTable } from './CoverageTable';
import { PoliciesTable } from './PoliciesTable';
import { StoredBytesChart } from './StoredBytesChart';
import { TargetsTable } from './TargetsTable';

const PlatformContent = () => {
  const api = useApi(backupApiRef);
  const { value, loading, error } = useAsync(() => api.getPlatformOverview(), [api]);
  if (error) return <ApiErrorPanel error={error} />;
  if (loading || !value) return <Progress />;
  return (
    <Grid container spacing={3}>
      <Grid item xs={12} md={6}>
        <InfoCard title="Targets" subheader="Where backups are stored">
          <TargetsTable targets={value.targets} />
        </InfoCard>
      </Grid>
      <Grid item xs={12} md={6}>
        <InfoCard title="Stored bytes" subheader="On all targets, per day">
          <StoredBytesChart points={value.storedBytesOverTime} />
        </InfoCard>
      </Grid>
      <Grid item xs={12}>
        <InfoCard title="Policies" subheader="Schedules, retention and full-backup cadence">
          <PoliciesTable policies={value.policies} />
        </InfoCard>
      </Grid>
      <Grid item xs={12}>
        <CoverageTable coverage={value.coverage} />
      </Grid>
    </Grid>
  );
};

/**
 * What someone without `backup.admin.read` sees instead of the overview: who may see it and
 * where their own backups are, rather than a refusal.
 */
export const PlatformPageNotAllowed = (props: { reason?: string }) => (
  <EmptyState
    missing="info"
    title="The platform overview is for Ferry's administrators"
    description={
      <>
        <Typography variant="body1" component="span" display="block" paragraph>
          It shows every target, policy and component of the catalog, so it needs the
          backup.admin.read permission. Your Backstage's permission policy decides who has it; in
          Ferry's demo policy, members of a group listed in ferry.permissions.adminRefs
          (app-config.yaml).
        </Typography>
        <Typography variant="body1" component="span" display="block" paragraph>
          The backups of the components you own are on each component's Backups and Restores tabs.
        </Typography>
        {props.reason && (
          <Typography variant="body2" component="span" display="block" color="textSecondary">
            {props.reason}
          </Typography>
        )}
      </>
    }
  />
);

/** The overview, or the page saying who may see it, by the signed-in user's permission. */
const PlatformOrNotAllowed = () => {
  const access = useActionPermission({
    permission: backupAdminReadPermission,
    action: 'see the platform overview',
  });
  if (access.loading) return <Progress />;
  if (!access.allowed) return <PlatformPageNotAllowed reason={access.reason} />;
  return <PlatformContent />;
};

/** The platform team's page: targets, policies, coverage across the catalog, storage over time. */
export const BackupPlatformPage = () => (
  <Page themeId="tool">
    <Header title="Backups" subtitle="Ferry: targets, policies and coverage across the catalog" />
    <Content>
      <ContentHeader title="Platform overview">
        <SupportButton>
          Targets and policies are set in app-config.yaml under ferry; a component is covered
          when it carries a ferry.io or Kubernetes annotation.
        </SupportButton>
      </ContentHeader>
      <PlatformOrNotAllowed />
    </Content>
  </Page>
);
