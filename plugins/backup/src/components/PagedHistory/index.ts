export { PagedHistory } from './PagedHistory';
export type { PagedHistoryProps } from './PagedHistory';
