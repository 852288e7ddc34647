import { Table, TableColumn } from '@backstage/core-components';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import { Box, Chip, FormControlLabel, Switch, useTheme } from '@material-ui/core';
import type { PlatformOverview, ProtectionState } from '@ferry/plugin-backup-common';
import { useState } from 'react';
import { ProtectionStatus } from '../EntityBackupStatusCard';
import { formatRelative } from '../format';

type Row = PlatformOverview['coverage'][number];

const order: Record<ProtectionState, number> = { unprotected: 0, 'at-risk': 1, protected: 2 };

/** Annotated components and whether they have a recent backup; the unprotected ones first. */
export const CoverageTable = ({ coverage }: { coverage: Row[] }) => {
  const theme = useTheme();
  const [onlyAtRisk, setOnlyAtRisk] = useState(false);
  const count = (state: ProtectionState) => coverage.filter(c => c.protection === state).length;
  const rows = [...coverage]
    .sort((a, b) => order[a.protection] - order[b.protection] || a.title.localeCompare(b.title))
    .filter(row => !onlyAtRisk || row.protection !== 'protected');
  const columns: TableColumn<Row>[] = [
    {
      title: 'Component',
      render: row => <EntityRefLink entityRef={row.entityRef} title={row.title} />,
    },
    { title: 'Protection', render: row => <ProtectionStatus state={row.protection} /> },
    {
      title: 'Last backup',
      render: row => (row.lastBackupAt ? formatRelative(row.lastBackupAt) : 'never'),
    },
  ];
  return (
    <>
      <Box display="flex" alignItems="center" mb={1} style={{ gap: 8 }}>
        <Chip size="small" label={`${count('protected')} protected`} />
        <Chip size="small" label={`${count('at-risk')} at risk`} />
        <Chip size="small" label={`${count('unprotected')} unprotected`} />
        <Box flexGrow={1} />
        <FormControlLabel
          control={
            <Switch
              checked={onlyAtRisk}
              onChange={e => setOnlyAtRisk(e.target.checked)}
              color="primary"
            />
          }
          label="Only without a recent backup"
        />
      </Box>
      <Table<Row>
        title="Coverage"
        subtitle={`${coverage.length} annotated components`}
        columns={columns}
        data={rows}
        options={{
          paging: rows.length > 20,
          pageSize: 20,
          search: false,
          padding: 'dense',
          rowStyle: (row: Row) =>
            row.protection === 'protected'
              ? {}
              : {
                  background:
                    row.protection === 'unprotected'
                      ? `${theme.palette.error.main}14`
                      : `${theme.palette.warning.main}14`,
                },
        }}
        emptyContent={
          <Box p={2}>
            {onlyAtRisk
              ? 'Every annotated component has a recent backup.'
              : 'No component is annotated for backups yet (e.g. ferry.io/helm-release).'}
          </Box>
        }
      />
    </>
  );
};
