export { DetailSection } from './DetailSection';
