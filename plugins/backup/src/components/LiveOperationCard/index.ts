export { LiveOperationCard } from './LiveOperationCard';
