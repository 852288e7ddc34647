import {
  Content,
  ContentHeader,
  Header,
  InfoCard,
  Page,
  Progress,
  SupportButton,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Grid } from '@material-ui/core';
import useAsync from 'react-use/esm/useAsync';
import { backupApiRef } from '../../api/BackupApi';
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
      <PlatformContent />
    </Content>
  </Page>
);
