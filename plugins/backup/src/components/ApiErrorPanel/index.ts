export { ApiErrorPanel } from './ApiErrorPanel';
