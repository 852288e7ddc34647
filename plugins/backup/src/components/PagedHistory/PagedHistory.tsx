import { EmptyState, Progress, Table, TableColumn } from '@backstage/core-components';
import TablePagination from '@material-ui/core/TablePagination';
import { ReactNode, useEffect, useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import type { PageRequest } from '../../api/BackupApi';
import { ApiErrorPanel } from '../ApiErrorPanel';

export interface PagedHistoryProps<T extends object> {
  title: string;
  /** Loads one page; re-run when the page or `reloadKey` changes. */
  load: (page: PageRequest) => Promise<{ items: T[]; totalCount: number }>;
  columns: TableColumn<T>[];
  emptyTitle: string;
  emptyDescription: string | JSX.Element;
  /** Shown above the table and inside the empty state (e.g. a "Back up now" button). */
  actions?: JSX.Element;
  /** Rendered between the actions and the table with the loaded page (e.g. running operations). */
  aboveTable?: (items: T[]) => ReactNode;
  onRowClick?: (row: T) => void;
  /** Change it to reload the current page. */
  reloadKey?: number;
  rowsPerPageOptions?: number[];
}

/** A server-paginated, newest-first history table with loading, error and empty states. */
export function PagedHistory<T extends object>(props: PagedHistoryProps<T>) {
  const rowsPerPageOptions = props.rowsPerPageOptions ?? [10, 20, 50];
  const [page, setPage] = useState(0);
  const [rowsPerPage, setRowsPerPage] = useState(rowsPerPageOptions[0]);
  const { value, loading, error, retry } = useAsyncRetry(
    () => props.load({ limit: rowsPerPage, offset: page * rowsPerPage }),
    [page, rowsPerPage],
  );
  const { reloadKey } = props;
  useEffect(() => {
    if (reloadKey) retry();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reloadKey]);

  if (error) {
    return <ApiErrorPanel error={error} />;
  }
  if (loading && !value) {
    return <Progress />;
  }
  if (!value || value.totalCount === 0) {
    return (
      <EmptyState
        missing="data"
        title={props.emptyTitle}
        description={props.emptyDescription}
        action={props.actions}
      />
    );
  }
  return (
    <>
      {props.actions}
      {props.aboveTable?.(value.items)}
      <Table<T>
        title={props.title}
        isLoading={loading}
        columns={props.columns}
        data={value.items}
        onRowClick={props.onRowClick ? (_event, row) => row && props.onRowClick?.(row) : undefined}
        options={{ paging: false, search: false, sorting: false, padding: 'dense' }}
      />
      <TablePagination
        component="div"
        count={value.totalCount}
        page={page}
        rowsPerPage={rowsPerPage}
        rowsPerPageOptions={rowsPerPageOptions}
        onPageChange={(_event, next) => setPage(next)}
        onRowsPerPageChange={event => {
          setRowsPerPage(Number(event.target.value));
          setPage(0);
        }}
      />
    </>
  );
}
