export { FailureList } from './FailureList';
